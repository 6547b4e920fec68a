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

    /// <summary>The store file's full path for this command line.</summary>
    public static string Resolve(ParseResult parse)
    {
        var path = parse.GetValue(Option);
        if (string.IsNullOrWhiteSpace(path))
        {
            var configuration = new ConfigurationBuilder()
                .SetBasePath(AppContext.BaseDirectory)
                .AddJsonFile("appsettings.json", optional: true)
                .AddEnvironmentVariables("HEALTHGRPC_")
                .Build();
            path = configuration["Storage:Path"] ?? Path.Combine("data", "healthgrpc.db");
        }

        return Path.GetFullPath(path);
    }
}
