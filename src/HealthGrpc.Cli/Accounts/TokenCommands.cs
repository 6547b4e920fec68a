using System.CommandLine;
using HealthGrpc.Cli.Shared;
using HealthGrpc.Server.Auth;
using HealthGrpc.Storage;
using Spectre.Console;

namespace HealthGrpc.Cli.Accounts;

/// <summary>`healthgrpc token create|list|revoke` on the store. The store keeps only hashes: a token is shown once.</summary>
internal static class TokenCommands
{
    public static Command Build() => new("token", "Issue, list and revoke bearer tokens")
    {
        Create(),
        List(),
        Revoke(),
    };

    public static Option<string> ExpiresInOption() => new("--expires-in")
    {
        Description = "Expiry: a duration (30d, 12h, 90m, 2w) or an ISO 8601 date (2027-01-31T00:00:00Z); default: never",
        HelpName = "WHEN",
    };

    /// <summary>Issues a token for an existing user and prints only it on stdout (its id and expiry on stderr).</summary>
    public static async Task<int> IssueAsync(OpenedStore session, string userId, string? expiresIn, CancellationToken ct)
    {
        DateTimeOffset? expiresAt = null;
        if (expiresIn is not null)
        {
            var (at, error) = Expiry.Parse(expiresIn, DateTimeOffset.UtcNow);
            if (error is not null)
            {
                return Terminal.Fail(error);
            }

            expiresAt = at;
        }

        var token = BearerTokens.Issue();
        if (await session.Store.IssueTokenAsync(userId, BearerTokens.Hash(token), expiresAt, ct) is not { } issued)
        {
            return Terminal.Fail($"no user '{userId}' in {session.Path}: create it first (healthgrpc user create {userId}).");
        }

        Console.Out.WriteLine(token);
        Terminal.Error.MarkupLineInterpolated($"token [bold]{issued.Id}[/] for user [bold]{userId}[/], expires {Terminal.Time(issued.ExpiresAt)}; it is shown only now.");
        return 0;
    }

    private static Command Create()
    {
        var userId = new Argument<string>("user-id") { Description = "The user the token authenticates (must exist)" };
        var expiresIn = ExpiresInOption();
        var command = new Command("create", "Issue a bearer token for a user; prints only the token on stdout") { userId, expiresIn };
        command.SetAction(async (parse, ct) =>
        {
            await using var session = await StoreSession.OpenAsync(parse, create: false, ct);
            var store = session.Store;
            return await IssueAsync(session, parse.GetValue(userId)!, parse.GetValue(expiresIn), ct);
        });
        return command;
    }

    private static Command List()
    {
        var userId = new Argument<string?>("user-id") { Description = "Only this user's tokens (default: all)", Arity = ArgumentArity.ZeroOrOne };
        var command = new Command("list", "List tokens: id, user, created, expires, revoked (never the token)") { userId, Terminal.JsonOption };
        command.SetAction(async (parse, ct) =>
        {
            await using var session = await StoreSession.OpenAsync(parse, create: false, ct);
            var store = session.Store;
            var tokens = await store.ListTokensAsync(parse.GetValue(userId), ct);
            if (parse.GetValue(Terminal.JsonOption))
            {
                Terminal.WriteJson(tokens);
                return 0;
            }

            var table = new Table().AddColumns("id", "user", "created", "expires", "revoked");
            foreach (var token in tokens)
            {
                table.AddRow(token.Id, Markup.Escape(token.UserId), Terminal.Time(token.CreatedAt), Terminal.Time(token.ExpiresAt), Terminal.Time(token.RevokedAt));
            }

            Terminal.Out.Write(table);
            return 0;
        });
        return command;
    }

    private static Command Revoke()
    {
        var tokenId = new Argument<string>("token-id") { Description = "The token's id, as `token list` and `token create` show it" };
        var command = new Command("revoke", "Revoke a token: refused at once, also on Sync streams opened before") { tokenId };
        command.SetAction(async (parse, ct) =>
        {
            var id = parse.GetValue(tokenId)!;
            await using var session = await StoreSession.OpenAsync(parse, create: false, ct);
            var store = session.Store;
            switch (await store.RevokeTokenAsync(id, ct))
            {
                case TokenRevocation.Revoked:
                    Terminal.Error.MarkupLineInterpolated($"token [bold]{id}[/] is revoked.");
                    return 0;
                case TokenRevocation.AlreadyRevoked:
                    Terminal.Error.MarkupLineInterpolated($"token [bold]{id}[/] was already revoked.");
                    return 0;
                case TokenRevocation.Ambiguous:
                    return Terminal.Fail($"token id '{id}' matches several tokens: nothing revoked (revoke by disabling the user).");
                default:
                    return Terminal.Fail($"no token '{id}' in {session.Path} (see healthgrpc token list).");
            }
        });
        return command;
    }
}
