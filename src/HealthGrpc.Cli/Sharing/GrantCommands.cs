using System.CommandLine;
using System.Globalization;
using Google.Protobuf.WellKnownTypes;
using HealthGrpc.Cli.Accounts;
using HealthGrpc.Cli.Shared;
using HealthGrpc.Contracts.V1;
using HealthGrpc.Server.Query;
using HealthGrpc.Server.Sharing;
using HealthGrpc.Storage;
using Spectre.Console;

namespace HealthGrpc.Cli.Sharing;

/// <summary>
/// `healthgrpc grant create|list|revoke|audit` on the store: the same grants SharingService gives, validated by the same
/// rules (<see cref="GrantTerms"/>). A share code is shown once; the store keeps only its hash.
/// </summary>
internal static class GrantCommands
{
    // sharing.proto's field names as this command's options, so a refusal names what the operator typed.
    private static readonly Dictionary<string, string> OptionOfField = new(StringComparer.Ordinal)
    {
        ["grantee_user_id"] = "--to",
        ["types"] = "--types",
        ["data_start_time"] = "--from",
        ["data_end_time"] = "--until",
        ["expire_time"] = "--expires-in",
    };

    public static Command Build() => new("grant", "Share a user's data read-only: create, list and revoke grants, and see who read what")
    {
        Create(),
        List(),
        Revoke(),
        Audit(),
    };

    private static Command Create()
    {
        var owner = new Argument<string>("owner") { Description = "The user whose data is shared (must exist)" };
        var to = new Option<string>("--to") { Description = "The user who may read (must exist); or --share-code", HelpName = "USER" };
        var shareCode = new Option<bool>("--share-code") { Description = "Issue a share code (a read-only bearer credential for someone without an account) instead of --to" };
        var types = new Option<string[]>("--types")
        {
            Description = "Data types to share, comma-separated (heart-rate,steps); required",
            HelpName = "TYPES",
            AllowMultipleArgumentsPerToken = true,
        };
        var from = new Option<string>("--from") { Description = "Share samples starting at or after this ISO 8601 instant (default: no lower bound)", HelpName = "WHEN" };
        var until = new Option<string>("--until") { Description = "Share samples starting before this ISO 8601 instant (default: no upper bound)", HelpName = "WHEN" };
        var expiresIn = TokenCommands.ExpiresInOption();
        expiresIn.Description = "When the grant stops working: a duration (30d, 12h, 90m, 2w) or an ISO 8601 date; required";
        var command = new Command("create", "Grant read access to some of a user's data; prints the share code (or the grant id) on stdout")
        {
            owner, to, shareCode, types, from, until, expiresIn, Terminal.JsonOption,
        };
        command.SetAction(async (parse, ct) =>
        {
            var now = DateTimeOffset.UtcNow;
            var (request, error) = Request(parse.GetValue(to), parse.GetValue(shareCode), parse.GetValue(types) ?? [], parse.GetValue(from), parse.GetValue(until), parse.GetValue(expiresIn), now);
            if (error is not null)
            {
                return Terminal.Fail(error);
            }

            var ownerId = parse.GetValue(owner)!;
            GrantTerms terms;
            try
            {
                terms = GrantTerms.From(request!, ownerId, now);
            }
            catch (QueryRejectedException invalid)
            {
                return Terminal.Fail($"{OptionOfField.GetValueOrDefault(invalid.Field, invalid.Field)}: {invalid.Message}");
            }
            catch (GrantDeniedException denied)
            {
                return Terminal.Fail($"--to: {denied.Message}");
            }

            await using var session = await StoreSession.OpenAsync(parse, create: false, ct);
            var store = session.Grants;
            var issued = await GrantIssuer.CreateAsync(store, ownerId, terms, now, ct);
            switch (issued.Outcome)
            {
                case GrantCreation.UnknownOwner:
                    return Terminal.Fail($"no user '{ownerId}' in {session.Path}: create it first (healthgrpc user create {ownerId}).");
                case GrantCreation.UnknownGrantee:
                    return Terminal.Fail($"--to: no user '{terms.GranteeUserId}' in {session.Path}.");
            }

            var grant = issued.Grant!;
            if (parse.GetValue(Terminal.JsonOption))
            {
                Terminal.WriteJson(new { grant = GrantView.Of(grant), shareCode = issued.ShareCode });
                return 0;
            }

            Console.Out.WriteLine(issued.ShareCode ?? grant.GrantId);
            Terminal.Error.MarkupLineInterpolated(
                $"grant [bold]{grant.GrantId}[/]: {DataTypeNames.Format(grant.Types)} of [bold]{grant.OwnerUserId}[/] to {(grant.IsShareCode ? "the holder of the share code (shown only now)" : grant.GranteeUserId)}, expires {Terminal.Time(grant.ExpiresAt)}.");
            return 0;
        });
        return command;
    }

    /// <summary>The options as the CreateGrant request they stand for, or an error naming the option that does not parse.</summary>
    private static (CreateGrantRequest? Request, string? Error) Request(
        string? to, bool shareCode, string[] typeNames, string? from, string? until, string? expiresIn, DateTimeOffset now)
    {
        var (types, unknown) = DataTypeNames.Parse(typeNames);
        if (unknown is not null)
        {
            return (null, $"--types: '{unknown}' is not a data type (known: {DataTypeNames.Known}).");
        }

        var request = new CreateGrantRequest { GranteeUserId = to ?? "", CreateShareCode = shareCode, Types_ = { types } };
        if (expiresIn is null)
        {
            return (null, "--expires-in is required: grants always expire.");
        }

        var (expires, expiryError) = Expiry.Parse(expiresIn, now);
        if (expiryError is not null)
        {
            return (null, expiryError);
        }

        request.ExpireTime = Timestamp.FromDateTimeOffset(expires!.Value);
        foreach (var (option, text, set) in new (string, string?, Action<Timestamp>)[]
        {
            ("--from", from, time => request.DataStartTime = time),
            ("--until", until, time => request.DataEndTime = time),
        })
        {
            if (text is null)
            {
                continue;
            }

            if (!DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var at))
            {
                return (null, $"{option} {text}: expected an ISO 8601 date or instant (2027-01-31 or 2027-01-31T12:00:00Z).");
            }

            set(Timestamp.FromDateTimeOffset(at));
        }

        return (request, null);
    }

    private static Command List()
    {
        var userId = new Argument<string?>("user-id") { Description = "Only grants this user gave or was given (default: all)", Arity = ArgumentArity.ZeroOrOne };
        var all = new Option<bool>("--all") { Description = "Include revoked and expired grants" };
        var command = new Command("list", "List grants, newest first: id, owner, grantee, types, range, expiry, revocation (never a share code)") { userId, all, Terminal.JsonOption };
        command.SetAction(async (parse, ct) =>
        {
            await using var session = await StoreSession.OpenAsync(parse, create: false, ct);
            var store = session.Grants;
            var grants = await store.ListGrantsAsync(parse.GetValue(userId), GrantSide.Either, parse.GetValue(all), DateTimeOffset.UtcNow, ct);
            if (parse.GetValue(Terminal.JsonOption))
            {
                Terminal.WriteJson(grants.Select(GrantView.Of));
                return 0;
            }

            var table = new Table().AddColumns("id", "owner", "grantee", "types", "from", "until", "expires", "revoked");
            foreach (var grant in grants)
            {
                table.AddRow(
                    grant.GrantId, Markup.Escape(grant.OwnerUserId), grant.IsShareCode ? "(share code)" : Markup.Escape(grant.GranteeUserId!),
                    DataTypeNames.Format(grant.Types), Terminal.Time(grant.DataStart), Terminal.Time(grant.DataEnd),
                    Terminal.Time(grant.ExpiresAt), Terminal.Time(grant.RevokedAt));
            }

            Terminal.Out.Write(table);
            return 0;
        });
        return command;
    }

    private static Command Revoke()
    {
        var grantId = new Argument<string>("grant-id") { Description = "The grant's id, as `grant list` and `grant create` show it" };
        var command = new Command("revoke", "Revoke a grant: refused at once, also on Subscribe streams open through it (and its share code)") { grantId };
        command.SetAction(async (parse, ct) =>
        {
            var id = parse.GetValue(grantId)!;
            await using var session = await StoreSession.OpenAsync(parse, create: false, ct);
            var store = session.Grants;
            switch (await store.RevokeGrantAsync(id, null, DateTimeOffset.UtcNow, ct))
            {
                case GrantRevocation.Revoked:
                    Terminal.Error.MarkupLineInterpolated($"grant [bold]{id}[/] is revoked.");
                    return 0;
                case GrantRevocation.AlreadyRevoked:
                    Terminal.Error.MarkupLineInterpolated($"grant [bold]{id}[/] was already revoked.");
                    return 0;
                default:
                    return Terminal.Fail($"no grant '{id}' in {session.Path} (see healthgrpc grant list --all).");
            }
        });
        return command;
    }

    private static Command Audit()
    {
        var owner = new Argument<string>("owner") { Description = "The user whose grants' reads to list" };
        var grantId = new Option<string>("--grant") { Description = "Only the reads through this grant", HelpName = "GRANT-ID" };
        var limit = new Option<int>("--limit") { Description = "Most entries to show, newest first", DefaultValueFactory = _ => 100 };
        var command = new Command("audit", "List the reads of a user's data through their grants, newest first") { owner, grantId, limit, Terminal.JsonOption };
        command.SetAction(async (parse, ct) =>
        {
            if (parse.GetValue(limit) < 1)
            {
                return Terminal.Fail("--limit must be at least 1.");
            }

            await using var session = await StoreSession.OpenAsync(parse, create: false, ct);
            var store = session.Grants;
            var entries = await store.ListAccessAsync(parse.GetValue(owner)!, parse.GetValue(grantId), null, parse.GetValue(limit), ct);
            if (parse.GetValue(Terminal.JsonOption))
            {
                Terminal.WriteJson(entries.Select(entry => new
                {
                    entry.GrantId, entry.ReaderUserId, entry.Method, Types = entry.Types.Select(type => ((DataType)type).ToString()),
                    entry.DataStart, entry.DataEnd, entry.At,
                }));
                return 0;
            }

            var table = new Table().AddColumns("at", "grant", "reader", "method", "types", "from", "until");
            foreach (var entry in entries)
            {
                table.AddRow(
                    Terminal.Time(entry.At), entry.GrantId, entry.ReaderUserId is null ? "(share code)" : Markup.Escape(entry.ReaderUserId), entry.Method,
                    DataTypeNames.Format(entry.Types), Terminal.Time(entry.DataStart), Terminal.Time(entry.DataEnd));
            }

            Terminal.Out.Write(table);
            return 0;
        });
        return command;
    }

    /// <summary>A grant as `--json` prints it (types by name).</summary>
    private sealed record GrantView(
        string GrantId, string OwnerUserId, string? GranteeUserId, bool ShareCode, IReadOnlyList<string> Types,
        DateTimeOffset? DataStart, DateTimeOffset? DataEnd, DateTimeOffset ExpiresAt, DateTimeOffset CreatedAt, DateTimeOffset? RevokedAt)
    {
        public static GrantView Of(GrantRecord grant) => new(
            grant.GrantId, grant.OwnerUserId, grant.GranteeUserId, grant.IsShareCode, grant.Types.Select(type => ((DataType)type).ToString()).ToArray(),
            grant.DataStart, grant.DataEnd, grant.ExpiresAt, grant.CreatedAt, grant.RevokedAt);
    }
}
