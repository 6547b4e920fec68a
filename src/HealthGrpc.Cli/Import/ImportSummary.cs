using System.Globalization;
using HealthGrpc.Cli.Shared;
using Spectre.Console;

namespace HealthGrpc.Cli.Import;

/// <summary>The end of an import: a table by type for people, or one JSON document for scripts (`--json`).</summary>
internal static class ImportSummary
{
    public static void Write(ImportRun run, bool json)
    {
        var seconds = Math.Max(run.Elapsed.Elapsed.TotalSeconds, 0.001);
        var read = run.Tally.TotalRead;
        if (json)
        {
            Terminal.WriteJson(new
            {
                deviceId = run.DeviceId,
                seconds = Math.Round(seconds, 3),
                recordsPerSecond = Math.Round(read / seconds),
                bytesRead = run.Bytes.Read,
                rows = run.Tally.Rows.Select(r => new
                {
                    type = r.Key,
                    read = r.Value.Read,
                    alreadyImported = r.Value.AlreadyImported,
                    sent = r.Value.Sent,
                    stored = r.Value.Stored,
                    duplicates = r.Value.Duplicates,
                    rejected = r.Value.Rejected.Values.Sum(),
                    rejectedReasons = new SortedDictionary<string, long>(r.Value.Rejected, StringComparer.Ordinal),
                    unsupported = r.Value.Unsupported.Values.Sum(),
                    unsupportedReasons = new SortedDictionary<string, long>(r.Value.Unsupported, StringComparer.Ordinal),
                }),
            });
            return;
        }

        var table = new Table().AddColumns("type", "read", "already imported", "sent", "stored", "duplicate", "rejected", "unsupported", "why");
        foreach (var (name, row) in run.Tally.Rows)
        {
            var why = row.Rejected.Select(p => $"{p.Key} ×{p.Value}").Concat(row.Unsupported.Select(p => $"{p.Key} ×{p.Value}"));
            table.AddRow(
                Markup.Escape(name), N(row.Read), N(row.AlreadyImported), N(row.Sent), N(row.Stored), N(row.Duplicates),
                N(row.Rejected.Values.Sum()), N(row.Unsupported.Values.Sum()), Markup.Escape(string.Join("; ", why)));
        }

        Terminal.Out.Write(table);
        Terminal.Out.MarkupLineInterpolated(
            $"device [bold]{run.DeviceId}[/]: {N(read)} records in {seconds:0.0} s ({N((long)(read / seconds))}/s), {run.Bytes.Read / 1048576.0:0.0} MiB of export.xml");
    }

    private static string N(long value) => value.ToString("N0", CultureInfo.InvariantCulture);
}
