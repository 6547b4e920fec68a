using System.CommandLine;
using HealthGrpc.Cli.Shared;
using Spectre.Console;

namespace HealthGrpc.Cli.Accounts;

/// <summary>`healthgrpc user create|list|disable|quota|source-priority` on the store.</summary>
internal static class UserCommands
{
    public static Command Build() => new("user", "Create, list and disable users; show and set their quotas and source priorities")
    {
        Create(),
        List(),
        Disable(),
        UserQuotaCommand.Build(),
        UserSourcePriorityCommand.Build(),
    };

    private static Command Create()
    {
        var userId = new Argument<string>("user-id") { Description = "The user to create (idempotent)" };
        var issueToken = new Option<bool>("--issue-token") { Description = "Also issue a bearer token and print only it on stdout (for scripts)" };
        var expiresIn = TokenCommands.ExpiresInOption();
        var quotas = new UserQuotaOptions();
        var command = new Command("create", "Create a user (idempotent); with --issue-token also print a new bearer token; quota options set its own limits") { userId, issueToken, expiresIn };
        foreach (var option in quotas.All)
        {
            command.Options.Add(option);
        }

        command.SetAction(async (parse, ct) =>
        {
            var id = parse.GetValue(userId)!;
            await using var session = await StoreSession.OpenAsync(parse, create: true, ct);
            var store = session.Store;
            await store.CreateUserAsync(id, ct);
            if (quotas.AnyGiven(parse))
            {
                var quotaStore = session.Quotas;
                var current = await quotaStore.GetQuotaOverrideAsync(id, ct) ?? new Storage.QuotaOverride(null, null, null);
                await quotaStore.SetQuotaOverrideAsync(id, quotas.Apply(parse, current), ct);
            }

            if (parse.GetValue(issueToken))
            {
                return await TokenCommands.IssueAsync(session, id, parse.GetValue(expiresIn), ct);
            }

            Terminal.Error.MarkupLineInterpolated($"user [bold]{id}[/] exists in {session.Path}; issue a token with: healthgrpc token create {id}");
            return 0;
        });
        return command;
    }

    private static Command List()
    {
        var command = new Command("list", "List users: created, disabled, active tokens") { Terminal.JsonOption };
        command.SetAction(async (parse, ct) =>
        {
            await using var session = await StoreSession.OpenAsync(parse, create: false, ct);
            var store = session.Store;
            var users = await store.ListUsersAsync(ct);
            if (parse.GetValue(Terminal.JsonOption))
            {
                Terminal.WriteJson(users);
                return 0;
            }

            var table = new Table().AddColumns("user", "created", "disabled", "active tokens");
            foreach (var user in users)
            {
                table.AddRow(Markup.Escape(user.UserId), Terminal.Time(user.CreatedAt), Terminal.Time(user.DisabledAt), user.ActiveTokens.ToString(System.Globalization.CultureInfo.InvariantCulture));
            }

            Terminal.Out.Write(table);
            return 0;
        });
        return command;
    }

    private static Command Disable()
    {
        var userId = new Argument<string>("user-id") { Description = "The user to disable" };
        var command = new Command("disable", "Disable a user: its tokens stop working at once, also on open Sync streams") { userId };
        command.SetAction(async (parse, ct) =>
        {
            var id = parse.GetValue(userId)!;
            await using var session = await StoreSession.OpenAsync(parse, create: false, ct);
            var store = session.Store;
            if (!await store.DisableUserAsync(id, ct))
            {
                return Terminal.Fail($"no user '{id}' in {session.Path}.");
            }

            Terminal.Error.MarkupLineInterpolated($"user [bold]{id}[/] is disabled.");
            return 0;
        });
        return command;
    }
}
