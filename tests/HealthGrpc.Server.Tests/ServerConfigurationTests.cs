using HealthGrpc.Storage.Sqlite;

namespace HealthGrpc.Server.Tests;

/// <summary>Operators tune the store from configuration (appsettings, HEALTHGRPC_* environment, command line).</summary>
public sealed class ServerConfigurationTests
{
    [Fact]
    public async Task Storage_options_come_from_configuration_and_the_rest_keep_their_defaults()
    {
        await using var server = await TestServer.StartAsync(null, "--Storage:WriterCacheKiB", "2048", "--Storage:GroupCommit:MaxRows", "123");

        // The options the store actually opened with, not merely what configuration bound.
        var options = Assert.IsType<SqliteHealthStore>(server.Store).Options;
        Assert.Equal(2048, options.WriterCacheKiB);
        Assert.Equal(123, options.GroupCommit.MaxRows);
        Assert.Equal(new SqliteStoreOptions().BusyTimeout, options.BusyTimeout);
    }
}
