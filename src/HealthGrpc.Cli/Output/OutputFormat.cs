using System.CommandLine;

namespace HealthGrpc.Cli.Output;

/// <summary>How a query prints its rows: a table for people, CSV or JSON for scripts.</summary>
internal enum OutputFormat
{
    Table,
    Csv,
    Json,
}

internal static class OutputFormatOption
{
    public static Option<OutputFormat> Create() => new("--format")
    {
        Description = "table (for people), csv or json (for scripts)",
        DefaultValueFactory = _ => OutputFormat.Table,
    };
}
