using System.CommandLine;
using Grpc.Core;
using HealthGrpc.Cli.Output;
using HealthGrpc.Cli.Query;
using HealthGrpc.Contracts.V1;

namespace HealthGrpc.Cli.Export;

/// <summary>
/// `healthgrpc export csv|json|fhir`: every page of a user's samples (QueryService.ReadSamples, as `query samples` reads
/// one) streamed to a file or stdout, one page in memory at a time, with a summary by type on stderr.
/// </summary>
internal static class ExportCommand
{
    private enum Format
    {
        Csv,
        Json,
        Fhir,
    }

    public static Command Build() => new("export", "Export all of a user's samples from a server: CSV, JSON or a FHIR R4 Bundle of Observations")
    {
        Verb(Format.Csv, "csv", "Every sample, series point and waveform chunk as CSV rows (the columns of `query samples`)"),
        Verb(Format.Json, "json", "Every sample, series point and waveform chunk as one JSON array (the rows of `query samples --format json`)"),
        Verb(Format.Fhir, "fhir", "A FHIR R4 collection Bundle of Observations with LOINC codes and UCUM units; types without a LOINC code are listed as skipped"),
    };

    private static Command Verb(Format format, string name, string description)
    {
        var read = ReadOptions.Create(ReadParts.Types | ReadParts.Sources | ReadParts.Range, defaultFrom: "1970-01-01", typesHelp: "Data types, comma-separated; default every type", sourcesHelp: "Only samples recorded by these device kinds");
        var output = new Option<FileInfo>("--output", "-o") { Description = "File to write (written as FILE.partial, renamed when complete); default stdout", HelpName = "FILE" };
        var pageSize = new Option<uint>("--page-size") { Description = "Items per read, 1..10000 (what the export holds in memory at once)", DefaultValueFactory = _ => 1000, HelpName = "N" };
        var command = new Command(name, description);
        foreach (var option in read.All.Append(output).Append(pageSize))
        {
            command.Options.Add(option);
        }

        command.SetAction(async (parse, ct) =>
        {
            if (read.Resolve(parse, QueryCommands.AllTypes) is not { } scope || QueryCommands.CheckPageSize(parse.GetValue(pageSize)) is not { } size)
            {
                return 1;
            }

            var file = parse.GetValue(output);
            var partial = file is null ? null : file.FullName + ".partial";
            var tally = new ExportTally();
            try
            {
                await using (var stream = partial is null ? Console.OpenStandardOutput() : File.Create(partial))
                {
                    await WriteAsync(format, scope, size, stream, tally, ct);
                }

                if (partial is not null)
                {
                    File.Move(partial, file!.FullName, overwrite: true);
                }
            }
            catch (RpcException refused)
            {
                Delete(partial);
                return ReadClient.Fail(refused);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                Delete(partial);
                return 130;
            }

            tally.WriteSummary(file?.FullName ?? "stdout");
            return 0;
        });
        return command;
    }

    private static async Task WriteAsync(Format format, ReadScope scope, uint pageSize, Stream stream, ExportTally tally, CancellationToken ct)
    {
        using var client = new ReadClient(scope);
        var request = QueryCommands.SampleRequest(scope, pageSize);
        if (format == Format.Fhir)
        {
            await using var bundle = new FhirBundleWriter(stream, scope.Owner, scope.Zone, tally);
            await foreach (var page in PagesAsync(client, request, ct))
            {
                bundle.Add(page);
                await bundle.FlushAsync(ct);
            }

            await bundle.CompleteAsync(ct);
            return;
        }

        await using var sink = RowSink.Create(format == Format.Csv ? OutputFormat.Csv : OutputFormat.Json, SampleRows.Columns, stream, envelope: false);
        var typeColumn = SampleRows.Columns.ToList().IndexOf("type");
        await foreach (var page in PagesAsync(client, request, ct))
        {
            foreach (var row in SampleRows.Of(page, scope.Zone))
            {
                sink.Write(row);
                tally.Wrote((string)row[typeColumn]!);
            }

            await sink.FlushAsync(ct);
        }

        await sink.CompleteAsync(null, ct);
    }

    /// <summary>Every page of the read, one at a time; later pages read the first page's snapshot (query.proto).</summary>
    private static async IAsyncEnumerable<ReadSamplesResponse> PagesAsync(ReadClient client, ReadSamplesRequest request, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
    {
        while (true)
        {
            var page = await client.Query.ReadSamplesAsync(request, client.Auth, cancellationToken: ct);
            yield return page;
            if (page.NextPageToken.Length == 0)
            {
                yield break;
            }

            request.PageToken = page.NextPageToken;
        }
    }

    private static void Delete(string? partial)
    {
        if (partial is not null)
        {
            File.Delete(partial);
        }
    }
}
