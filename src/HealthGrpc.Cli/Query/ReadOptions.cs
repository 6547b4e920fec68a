using System.CommandLine;
using HealthGrpc.Cli.Shared;
using HealthGrpc.Cli.Sharing;
using HealthGrpc.Contracts.V1;
using NodaTime;

namespace HealthGrpc.Cli.Query;

/// <summary>
/// The options every read verb (query, export) shares: the server and token, whose data, types, sources, time range and
/// zone. Every value is checked here, before any call, so a mistyped one is an error naming its option.
/// </summary>
internal sealed class ReadOptions
{
    private readonly string _defaultFrom;
    private readonly ReadParts _parts;

    private ReadOptions(ReadParts parts, string defaultFrom, string typesHelp, string sourcesHelp)
    {
        _parts = parts;
        _defaultFrom = defaultFrom;
        Types = new Option<string[]>("--types") { Description = typesHelp, HelpName = "TYPES", AllowMultipleArgumentsPerToken = true };
        Sources = new Option<string[]>("--sources") { Description = sourcesHelp + $" ({DeviceKindNames.Known})", HelpName = "KINDS", AllowMultipleArgumentsPerToken = true };
        From = new Option<string>("--from") { Description = $"Start of the range (inclusive): {TimeArgument.Help}; default {defaultFrom}", HelpName = "TIME" };
        To = new Option<string>("--to") { Description = $"End of the range (exclusive): {TimeArgument.Help}; default now", HelpName = "TIME" };
    }

    public Option<string> Server { get; } = ServerOptions.Server();

    public Option<string> Token { get; } = ServerOptions.Token();

    public Option<bool> AllowInsecure { get; } = ServerOptions.AllowInsecure();

    public Option<string> Owner { get; } = new("--owner")
    {
        Description = "Read another user's data through a grant they gave you (default: the token's own user)",
        HelpName = "USER",
    };

    public Option<string[]> Types { get; }

    public Option<string[]> Sources { get; }

    public Option<string> From { get; }

    public Option<string> To { get; }

    public Option<string> Zone { get; } = new("--zone")
    {
        Description = "IANA time zone (Europe/Berlin) for local dates in --from/--to, day/week/month buckets and the times printed",
        HelpName = "ZONE",
        DefaultValueFactory = _ => "UTC",
    };

    public static ReadOptions Create(ReadParts parts, string defaultFrom = "24h", string typesHelp = "", string sourcesHelp = "") => new(parts, defaultFrom, typesHelp, sourcesHelp);

    public IEnumerable<Option> All
    {
        get
        {
            Option[] always = [Server, Token, AllowInsecure, Owner, Zone];
            return always
                .Concat(_parts.HasFlag(ReadParts.Types) ? [Types] : [])
                .Concat(_parts.HasFlag(ReadParts.Sources) ? [Sources] : [])
                .Concat(_parts.HasFlag(ReadParts.Range) ? [From, To] : []);
        }
    }

    /// <summary>The checked scope; null after an error naming the option was printed. No --types means <paramref name="allTypes"/>.</summary>
    public ReadScope? Resolve(ParseResult parse, IReadOnlyList<DataType> allTypes)
    {
        var zoneText = parse.GetValue(Zone)!;
        if (DateTimeZoneProviders.Tzdb.GetZoneOrNull(zoneText) is not { } zone)
        {
            Fail($"--zone {zoneText}: not an IANA time zone (e.g. Europe/Berlin, America/New_York, UTC).");
            return null;
        }

        var (types, unknownType) = DataTypeNames.Parse(_parts.HasFlag(ReadParts.Types) ? parse.GetValue(Types) ?? [] : []);
        if (unknownType is not null)
        {
            Fail($"--types {unknownType}: not a data type; known: {DataTypeNames.Known}.");
            return null;
        }

        var (sources, unknownSource) = DeviceKindNames.Parse(_parts.HasFlag(ReadParts.Sources) ? parse.GetValue(Sources) ?? [] : []);
        if (unknownSource is not null)
        {
            Fail($"--sources {unknownSource}: not a device kind; known: {DeviceKindNames.Known}.");
            return null;
        }

        var now = SystemClock.Instance.GetCurrentInstant();
        var fromText = _parts.HasFlag(ReadParts.Range) ? parse.GetValue(From) ?? _defaultFrom : _defaultFrom;
        var toText = _parts.HasFlag(ReadParts.Range) ? parse.GetValue(To) ?? "now" : "now";
        if (TimeArgument.Parse(fromText, zone, now) is not { } from)
        {
            Fail($"--from {fromText}: expected {TimeArgument.Help}.");
            return null;
        }

        if (TimeArgument.Parse(toText, zone, now) is not { } to)
        {
            Fail($"--to {toText}: expected {TimeArgument.Help}.");
            return null;
        }

        if (to <= from)
        {
            Fail($"--to {toText} is not after --from {fromText}.");
            return null;
        }

        if (ServerOptions.Resolve(parse, Server, Token) is not ({ } server, { } token))
        {
            return null;
        }

        if (server.Scheme == Uri.UriSchemeHttp && !server.IsLoopback && !parse.GetValue(AllowInsecure))
        {
            Fail($"--server {server} is http:// to a non-loopback host: the token would travel in clear (use https://, or --allow-insecure).");
            return null;
        }

        return new ReadScope(server, token, parse.GetValue(Owner) ?? "", types.Count > 0 ? types : allTypes, sources, from, to, zone);
    }

    private static void Fail(string message) => Terminal.Fail(message);
}

/// <summary>Which of the shared options a verb takes (server, token, owner and zone it always takes).</summary>
[Flags]
internal enum ReadParts
{
    None = 0,
    Types = 1,
    Sources = 2,
    Range = 4,
}
