using System.CommandLine;
using HealthGrpc.Cli.Accounts;
using HealthGrpc.Cli.Db;
using HealthGrpc.Cli.Export;
using HealthGrpc.Cli.Import;
using HealthGrpc.Cli.Query;
using HealthGrpc.Cli.Serve;
using HealthGrpc.Cli.Simulate;
using HealthGrpc.Cli.Shared;
using HealthGrpc.Cli.Sharing;

namespace HealthGrpc.Cli;

/// <summary>The `healthgrpc` command tree: one place for every verb, each with its own --help.</summary>
internal static class CliApp
{
    public static RootCommand Build()
    {
        var root = new RootCommand("HealthGrpc: the reference server of the health-sample sync protocol and its administration.")
        {
            StoreLocation.Option,
            StoreLocation.ProviderOption,
            StoreLocation.ConnectionStringOption,
            ServeCommand.Build(),
            UserCommands.Build(),
            TokenCommands.Build(),
            GrantCommands.Build(),
            DbCommands.Build(),
            ImportCommand.Build(),
            SimulateCommand.Build(),
            QueryCommands.Build(),
            ExportCommand.Build(),
        };
        return root;
    }
}
