using System.Globalization;
using HealthGrpc.Cli.Shared;
using Spectre.Console;

namespace HealthGrpc.Cli.Export;

/// <summary>What an export wrote and skipped, by type, with the reason for every skip (nothing silently dropped).</summary>
internal sealed class ExportTally
{
    private readonly SortedDictionary<string, Counts> _byType = new(StringComparer.Ordinal);

    public long Written => _byType.Values.Sum(counts => counts.Written);

    public long Skipped => _byType.Values.Sum(counts => counts.Skipped.Values.Sum());

    public void Wrote(string type, long items = 1) => For(type).Written += items;

    public void Skip(string type, string reason, long items = 1)
    {
        var skipped = For(type).Skipped;
        skipped[reason] = skipped.GetValueOrDefault(reason) + items;
    }

    /// <summary>A table by type on stderr, so the export on stdout stays pure data.</summary>
    public void WriteSummary(string destination)
    {
        var table = new Table().AddColumns("type", "written", "skipped", "why skipped");
        foreach (var (type, counts) in _byType)
        {
            table.AddRow(
                Markup.Escape(type), N(counts.Written), N(counts.Skipped.Values.Sum()),
                Markup.Escape(string.Join("; ", counts.Skipped.Select(reason => $"{reason.Key} ({N(reason.Value)})"))));
        }

        Terminal.Error.Write(table);
        Terminal.Error.MarkupLineInterpolated($"{N(Written)} written to {destination}, {N(Skipped)} skipped.");
    }

    private Counts For(string type)
    {
        if (!_byType.TryGetValue(type, out var counts))
        {
            _byType[type] = counts = new Counts();
        }

        return counts;
    }

    private static string N(long value) => value.ToString("N0", CultureInfo.InvariantCulture);

    private sealed class Counts
    {
        public long Written { get; set; }

        public Dictionary<string, long> Skipped { get; } = new(StringComparer.Ordinal);
    }
}
