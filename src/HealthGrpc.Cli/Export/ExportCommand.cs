using System.CommandLine;
using Grpc.Core;
using HealthGrpc.Cli.Output;
using HealthGrpc.Cli.Query;
using HealthGrpc.Contracts.V1;

namespace HealthGrpc.Cli.Export;

/// <summary>
/// `healthgrpc export csv|json|fhir`: every page of a user's samples, series and waveforms (QueryService.ReadSamples, as
/// `query samples` reads one) streamed to a file or stdout, one page in memory at a time, then their current records
/// (<see cref="CurrentRecords"/>), with a summary by type on stderr.
/// </summary>
internal static class ExportCommand
{
    private enum Format
    {
        Csv,
        Json,
        Fhir,
    }

    public static Command Build() => new("export", "Export all of a user's data from a server: CSV, JSON or a FHIR R4 Bundle")
    {
        Verb(Format.Csv, "csv", "Every sample, series point, waveform chunk and current record as CSV rows (the columns of `query samples`, then recordId, version, contentType, payloadEncoding, payload)"),
        Verb(Format.Json, "json", "Every sample, series point, waveform chunk and current record as one JSON array (the columns of `export csv`)"),
        Verb(Format.Fhir, "fhir", "A FHIR R4 collection Bundle: Observations with LOINC codes and UCUM units (a regular series as one Observation with SampledData), records as DocumentReferences; types without a LOINC code are listed as skipped"),
    };

    private static Command Verb(Format format, string name, string description)
    {
        var read = ReadOptions.Create(ReadParts.Types | ReadParts.Sources | ReadParts.Range, defaultFrom: "1970-01-01", typesHelp: "Data types, comma-separated; default every type and the records (which have no type)", sourcesHelp: "Only samples recorded by these device kinds (records, which have no source, are then left out)");
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
                    // Records have neither a data type nor a source: a filter on either leaves them out, as the change feed does.
                    var withRecords = (parse.GetValue(read.Types) ?? []).Length == 0 && scope.Sources.Count == 0;
                    await WriteAsync(format, scope, size, withRecords, stream, tally, ct);
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

    private static async Task WriteAsync(Format format, ReadScope scope, uint pageSize, bool withRecords, Stream stream, ExportTally tally, CancellationToken ct)
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

            foreach (var record in withRecords ? await CurrentRecords.ReadAsync(client, scope, ct) : [])
            {
                bundle.Add(record);
            }

            await bundle.CompleteAsync(ct);
            return;
        }

        await using var sink = RowSink.Create(format == Format.Csv ? OutputFormat.Csv : OutputFormat.Json, ExportRows.Columns, stream, envelope: false);
        await foreach (var page in PagesAsync(client, request, ct))
        {
            foreach (var row in SampleRows.Of(page, scope.Zone))
            {
                Write(ExportRows.Sample(row));
            }

            await sink.FlushAsync(ct);
        }

        foreach (var record in withRecords ? await CurrentRecords.ReadAsync(client, scope, ct) : [])
        {
            Write(ExportRows.Record(record, scope.Zone));
        }

        await sink.CompleteAsync(null, ct);

        void Write(object?[] row)
        {
            sink.Write(row);
            tally.Wrote((string)row[ExportRows.TypeColumn]!);
        }
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
