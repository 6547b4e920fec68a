using System.CommandLine;
using Timestamp = Google.Protobuf.WellKnownTypes.Timestamp;
using Grpc.Core;
using HealthGrpc.Cli.Output;
using HealthGrpc.Cli.Shared;
using HealthGrpc.Cli.Sharing;
using HealthGrpc.Contracts.V1;

namespace HealthGrpc.Cli.Query;

/// <summary>
/// `healthgrpc query samples|aggregates|changes`: one page of a user's data, read through the server's read RPCs with a
/// bearer token (the same access checks, grants and audit as any other client; no second read path into the store).
/// </summary>
internal static class QueryCommands
{
    /// <summary>Every type a read without --types asks for.</summary>
    public static readonly IReadOnlyList<DataType> AllTypes = Enum.GetValues<DataType>().Where(type => type != DataType.Unspecified).ToArray();

    public static Command Build() => new("query", "Read one page of a user's data from a server: samples, aggregates or the change feed") { Samples(), Aggregates(), Changes() };

    private static Option<uint> PageSize() => new("--page-size")
    {
        Description = "Items per page, 1..10000",
        DefaultValueFactory = _ => 1000,
        HelpName = "N",
    };

    private static Command Samples()
    {
        var read = ReadOptions.Create(ReadParts.Types | ReadParts.Sources | ReadParts.Range, typesHelp: "Data types, comma-separated (heart-rate,steps); default every type", sourcesHelp: "Only samples recorded by these device kinds");
        var pageSize = PageSize();
        var pageToken = new Option<string>("--page-token") { Description = "Continue after a previous page (printed after it)", HelpName = "TOKEN" };
        var format = OutputFormatOption.Create();
        var command = new Command("samples", "Samples, series points and waveform chunks overlapping a time range (QueryService.ReadSamples), by start time");
        Add(command, read.All, pageSize, pageToken, format);
        command.SetAction(async (parse, ct) =>
        {
            if (read.Resolve(parse, AllTypes) is not { } scope || CheckPageSize(parse.GetValue(pageSize)) is not { } size)
            {
                return 1;
            }

            using var client = new ReadClient(scope);
            var request = SampleRequest(scope, size);
            request.PageToken = parse.GetValue(pageToken) ?? "";
            // A token is valid only for the same range, so the hint names the range as instants: "--from 24h" again
            // would be a different range a minute later.
            var range = $"--from {request.StartTime.ToDateTimeOffset():yyyy-MM-dd'T'HH:mm:ss.fff'Z'} --to {request.EndTime.ToDateTimeOffset():yyyy-MM-dd'T'HH:mm:ss.fff'Z'}";
            return await PrintAsync(parse.GetValue(format), SampleRows.Columns, async () =>
            {
                var page = await client.Query.ReadSamplesAsync(request, client.Auth, cancellationToken: ct);
                return (SampleRows.Of(page, scope.Zone), page.NextPageToken);
            }, next => $"more: run again with {range} --page-token {next}", ct);
        });
        return command;
    }

    private static Command Aggregates()
    {
        var read = ReadOptions.Create(ReadParts.Sources | ReadParts.Range, defaultFrom: "7d", sourcesHelp: "Source priority, highest first (default watch,phone,wearable,scale,medical-device,app,manual)");
        var type = new Option<string>("--type") { Description = "The quantity type to aggregate (heart-rate, steps, …)", HelpName = "TYPE", Required = true };
        var bucket = new Option<string>("--bucket") { Description = "Bucket width, aligned to --zone: hour, day, week (from Monday) or month", DefaultValueFactory = _ => "day", HelpName = "WIDTH" };
        var functions = new Option<string[]>("--functions")
        {
            Description = "Statistics, comma-separated: sum, avg, min, max, count, latest (default all)",
            HelpName = "FUNCTIONS",
            AllowMultipleArgumentsPerToken = true,
        };
        var format = OutputFormatOption.Create();
        var command = new Command("aggregates", "Per-bucket statistics of one type in a time zone (QueryService.GetAggregates), deduplicated across sources by priority");
        Add(command, read.All, type, bucket, functions, format);
        command.SetAction(async (parse, ct) =>
        {
            var (types, unknown) = DataTypeNames.Parse([parse.GetValue(type)!]);
            if (unknown is not null || types.Count != 1)
            {
                return Terminal.Fail($"--type {parse.GetValue(type)}: not one data type; known: {DataTypeNames.Known}.");
            }

            if (!Enum.TryParse<BucketSize>(parse.GetValue(bucket), ignoreCase: true, out var width) || width == BucketSize.Unspecified || !Enum.IsDefined(width))
            {
                return Terminal.Fail($"--bucket {parse.GetValue(bucket)}: expected hour, day, week or month.");
            }

            if (AggregateRows.ParseFunctions(parse.GetValue(functions) ?? []) is not { } chosen)
            {
                return 1;
            }

            if (read.Resolve(parse, AllTypes) is not { } scope)
            {
                return 1;
            }

            using var client = new ReadClient(scope);
            var request = new GetAggregatesRequest
            {
                OwnerUserId = scope.Owner, Type = types[0], BucketSize = width, TimeZone = scope.Zone.Id,
                StartTime = Timestamp.FromDateTimeOffset(scope.From.ToDateTimeOffset()), EndTime = Timestamp.FromDateTimeOffset(scope.To.ToDateTimeOffset()),
                Functions = { chosen }, SourcePriority = { scope.Sources },
            };
            return await PrintAsync(parse.GetValue(format), AggregateRows.Columns, async () =>
            {
                var answer = await client.Query.GetAggregatesAsync(request, client.Auth, cancellationToken: ct);
                return (AggregateRows.Of(answer, scope.Zone), "");
            }, _ => "", ct);
        });
        return command;
    }

    private static Command Changes()
    {
        var read = ReadOptions.Create(ReadParts.Types, typesHelp: "Only changes of these types (records are then left out; deletions always pass)");
        var since = new Option<string>("--since-token") { Description = "Changes after this token (from a previous page or an ack); default the start of the feed", HelpName = "TOKEN" };
        var excludeDeletions = new Option<bool>("--exclude-deletions") { Description = "Leave tombstones out" };
        var pageSize = PageSize();
        var format = OutputFormatOption.Create();
        var command = new Command("changes", "One page of the user's change feed (ChangeFeedService.Changes): samples, series, waveforms, records and deletions in commit order");
        Add(command, read.All, since, excludeDeletions, pageSize, format);
        command.SetAction(async (parse, ct) =>
        {
            if (read.Resolve(parse, []) is not { } scope || CheckPageSize(parse.GetValue(pageSize)) is not { } size)
            {
                return 1;
            }

            using var client = new ReadClient(scope);
            var request = new ChangesRequest
            {
                OwnerUserId = scope.Owner, SinceToken = parse.GetValue(since) ?? "", PageSize = size,
                Filter = new ChangeFilter { Types_ = { scope.Types }, ExcludeDeletions = parse.GetValue(excludeDeletions) },
            };
            return await PrintAsync(parse.GetValue(format), ChangeRows.Columns, async () =>
            {
                var page = await client.Changes.ChangesAsync(request, client.Auth, cancellationToken: ct);
                // The token is worth printing even on the last page: polling later resumes from it.
                return (page.Changes.Select(change => ChangeRows.Of(change, scope.Zone)), page.NextToken);
            }, next => $"next: run again with --since-token {next} (also to poll for later changes)", ct);
        });
        return command;
    }

    public static ReadSamplesRequest SampleRequest(ReadScope scope, uint pageSize) => new()
    {
        OwnerUserId = scope.Owner, Types_ = { scope.Types }, SourceKinds = { scope.Sources }, PageSize = pageSize,
        StartTime = Timestamp.FromDateTimeOffset(scope.From.ToDateTimeOffset()), EndTime = Timestamp.FromDateTimeOffset(scope.To.ToDateTimeOffset()),
    };

    public static uint? CheckPageSize(uint size)
    {
        if (size is < 1 or > 10_000)
        {
            Terminal.Fail($"--page-size {size}: expected 1..10000.");
            return null;
        }

        return size;
    }

    /// <summary>One read printed in the format; for people, <paramref name="continuation"/> says on stderr how to read on.</summary>
    private static async Task<int> PrintAsync(OutputFormat format, IReadOnlyList<string> columns, Func<Task<(IEnumerable<object?[]> Rows, string Next)>> read, Func<string, string> continuation, CancellationToken ct)
    {
        IEnumerable<object?[]> rows;
        string next;
        try
        {
            (rows, next) = await read();
        }
        catch (RpcException refused)
        {
            return ReadClient.Fail(refused);
        }

        await using var stdout = Console.OpenStandardOutput();
        await using var sink = RowSink.Create(format, columns, stdout, envelope: true);
        foreach (var row in rows)
        {
            sink.Write(row);
        }

        await sink.CompleteAsync(next.Length > 0 ? next : null, ct);
        if (format != OutputFormat.Json && next.Length > 0)
        {
            Console.Error.WriteLine(continuation(next));
        }

        return 0;
    }

    private static void Add(Command command, IEnumerable<Option> shared, params Option[] own)
    {
        foreach (var option in shared.Concat(own))
        {
            command.Options.Add(option);
        }
    }
}
