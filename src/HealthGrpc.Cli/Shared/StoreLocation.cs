using System.CommandLine;
using Microsoft.Extensions.Configuration;

namespace HealthGrpc.Cli.Shared;

/// <summary>
/// `--store PATH`: the one name of the SQLite store for every verb (serve included). Without it, the same place the
/// server uses: HEALTHGRPC_Storage__Path, else Storage:Path of appsettings.json next to the binary (data/healthgrpc.db).
/// </summary>
internal static class StoreLocation
{
    public static Option<string> Option { get; } = new("--store")
    {
        Description = "SQLite store file, for every verb (default: $HEALTHGRPC_Storage__Path, else Storage:Path of appsettings.json: data/healthgrpc.db)",
        HelpName = "PATH",
        Recursive = true,
    };

    /// <summary>`--provider sqlite|postgres`: which store every verb (serve, user, token) opens.</summary>
    public static Option<string> ProviderOption { get; } = new Option<string>("--provider")
    {
        Description = "Store provider: sqlite (the --store file) or postgres (--connection-string); default $HEALTHGRPC_Storage__Provider, else Storage:Provider, else sqlite",
        HelpName = "sqlite|postgres",
        Recursive = true,
    }.AcceptOnlyFromAmong("sqlite", "postgres");

    /// <summary>`--connection-string`: the PostgreSQL database of --provider postgres.</summary>
    public static Option<string> ConnectionStringOption { get; } = new("--connection-string")
    {
        Description = "PostgreSQL connection string for --provider postgres, e.g. \"Host=db;Database=healthgrpc;Username=healthgrpc;Password=...\" (default $HEALTHGRPC_Storage__ConnectionString, else Storage:ConnectionString)",
        HelpName = "CONNECTION",
        Recursive = true,
    };

    /// <summary>The store file's full path for this command line.</summary>
    public static string Resolve(ParseResult parse)
    {
        var path = parse.GetValue(Option);
        if (string.IsNullOrWhiteSpace(path))
        {
            path = Configuration()["Storage:Path"] ?? Path.Combine("data", "healthgrpc.db");
        }

        return Path.GetFullPath(path);
    }

    /// <summary>The provider for this command line (sqlite unless --provider or Storage:Provider says postgres).</summary>
    public static string ResolveProvider(ParseResult parse) =>
        (parse.GetValue(ProviderOption) is { Length: > 0 } provider ? provider : Configuration()["Storage:Provider"] ?? "sqlite").ToLowerInvariant();

    /// <summary>The PostgreSQL connection string for this command line; an error names the option when there is none.</summary>
    public static string ResolveConnectionString(ParseResult parse) =>
        parse.GetValue(ConnectionStringOption) is { Length: > 0 } value ? value
        : Configuration()["Storage:ConnectionString"] is { Length: > 0 } configured ? configured
        : throw new StoreOptionException("--provider postgres needs --connection-string (or Storage:ConnectionString / $HEALTHGRPC_Storage__ConnectionString).");

    // The same sources the server reads: appsettings.json next to the binary, then HEALTHGRPC_* variables.
    private static IConfigurationRoot Configuration() => new ConfigurationBuilder()
        .SetBasePath(AppContext.BaseDirectory)
        .AddJsonFile("appsettings.json", optional: true)
        .AddEnvironmentVariables("HEALTHGRPC_")
        .Build();
}

/// <summary>The store options of a command line do not name a store (a usage error, printed without a stack trace).</summary>
internal sealed class StoreOptionException(string message) : Exception(message);
