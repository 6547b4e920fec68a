using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Reflection.V1Alpha;
using HealthGrpc.Contracts.V1;
using HealthGrpc.Storage;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using static HealthGrpc.Server.Tests.Batches;

namespace HealthGrpc.Server.Tests;

/// <summary>The host's cross-cutting parts: authentication, health, reflection, disposal, file modes, bindings, settings.</summary>
public sealed class HostTests
{
    [Fact]
    public async Task An_unauthenticated_call_is_refused_before_its_body_is_parsed()
    {
        await using var server = await TestServer.StartAsync();
        // Bytes that are no valid UploadRequest: parsing them would answer INVALID_ARGUMENT, not UNAUTHENTICATED.
        var garbage = new Method<byte[], byte[]>(MethodType.Unary, "healthgrpc.v1.SyncService", "Upload",
            Marshallers.Create(bytes => bytes, bytes => bytes), Marshallers.Create(bytes => bytes, bytes => bytes));
        var invoker = server.Channel.CreateCallInvoker();

        var anonymous = await Assert.ThrowsAsync<RpcException>(() =>
            invoker.AsyncUnaryCall(garbage, null, new CallOptions(deadline: DateTime.UtcNow.Add(TestTimeouts.Default)), [0xFF, 0xFF, 0xFF]).ResponseAsync).Bounded();
        var token = await server.CreateUserAsync("alice");
        var authenticated = await Assert.ThrowsAsync<RpcException>(() =>
            invoker.AsyncUnaryCall(garbage, null, SyncApi.As(token), [0xFF, 0xFF, 0xFF]).ResponseAsync).Bounded();

        Assert.Equal(StatusCode.Unauthenticated, anonymous.StatusCode);
        Assert.Contains("bearer token", anonymous.Status.Detail, StringComparison.Ordinal);
        // The same bytes with a valid token reach the parser, which names the problem.
        Assert.Equal(StatusCode.InvalidArgument, authenticated.StatusCode);
        Assert.Equal(ErrorReason.ProtocolViolation, SyncApi.Detail(authenticated).Reason);
    }

    [Fact]
    public async Task Health_is_serving_while_the_writer_commits_and_not_serving_once_the_host_drains()
    {
        var server = await TestServer.StartAsync();
        var health = new Grpc.Health.V1.Health.HealthClient(server.Channel);
        var serving = await health.CheckAsync(new HealthCheckRequest(), deadline: DateTime.UtcNow.Add(TestTimeouts.Default)).ResponseAsync.Bounded();
        var token = await server.CreateUserAsync("alice");
        // Hold a stream open so the drain waits for it, and ask for health while it does.
        var (stream, _) = await SyncStream.OpenAsync(server.Client, token, Device());
        var lifetime = server.Services.GetRequiredService<IHostApplicationLifetime>();
        lifetime.StopApplication();
        var draining = await health.CheckAsync(new HealthCheckRequest(), deadline: DateTime.UtcNow.Add(TestTimeouts.Default)).ResponseAsync.Bounded();
        stream.Dispose();
        await server.DisposeAsync();

        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, serving.Status);
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.NotServing, draining.Status);
    }

    [Fact]
    public async Task Health_is_not_serving_when_the_store_cannot_write()
    {
        await using var server = await TestServer.StartAsync();
        var health = new Grpc.Health.V1.Health.HealthClient(server.Channel);
        var before = await health.CheckAsync(new HealthCheckRequest(), deadline: DateTime.UtcNow.Add(TestTimeouts.Default)).ResponseAsync.Bounded();
        // From now on the database refuses every write of the probe (as a full or read-only disk would); root ignores
        // file modes, so a trigger armed through a second connection plays the disk.
        using (var connection = new SqliteConnection($"Data Source={server.DatabasePath}"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = """
                CREATE TRIGGER probe_insert_fails BEFORE INSERT ON health_probe BEGIN SELECT RAISE(ABORT, 'disk refuses writes'); END;
                CREATE TRIGGER probe_update_fails BEFORE UPDATE ON health_probe BEGIN SELECT RAISE(ABORT, 'disk refuses writes'); END;
                """;
            command.ExecuteNonQuery();
        }

        var response = await health.CheckAsync(new HealthCheckRequest(), deadline: DateTime.UtcNow.Add(TestTimeouts.Default)).ResponseAsync.Bounded();

        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, before.Status);
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.NotServing, response.Status);
    }

    [Fact]
    public async Task Reflection_serves_the_error_detail_types_a_client_needs_to_decode_statuses()
    {
        await using var server = await TestServer.StartAsync();
        using var call = new ServerReflection.ServerReflectionClient(server.Channel).ServerReflectionInfo(deadline: DateTime.UtcNow.Add(TestTimeouts.Default));

        var names = new List<string>();
        foreach (var symbol in new[] { "healthgrpc.v1.SyncService", "healthgrpc.v1.QueryService", "healthgrpc.v1.ChangeFeedService", "healthgrpc.v1.SharingService", "healthgrpc.v1.InsightService", "healthgrpc.v1.ErrorDetail", "google.rpc.Status", "grpc.health.v1.Health" })
        {
            await call.RequestStream.WriteAsync(new ServerReflectionRequest { FileContainingSymbol = symbol }).Bounded();
            Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None).Bounded());
            var files = call.ResponseStream.Current.FileDescriptorResponse?.FileDescriptorProto
                ?? throw new Xunit.Sdk.XunitException($"no descriptor for {symbol}: {call.ResponseStream.Current.ErrorResponse}");
            names.AddRange(files.Select(bytes => Google.Protobuf.Reflection.FileDescriptorProto.Parser.ParseFrom(bytes).Name));
        }

        await call.RequestStream.CompleteAsync().Bounded();
        Assert.Contains("healthgrpc/v1/sync.proto", names);
        Assert.Contains("healthgrpc/v1/query.proto", names);
        Assert.Contains("healthgrpc/v1/change_feed.proto", names);
        Assert.Contains("healthgrpc/v1/sharing.proto", names);
        Assert.Contains("healthgrpc/v1/insights.proto", names);
        Assert.Contains("healthgrpc/v1/errors.proto", names);
        Assert.Contains("google/rpc/status.proto", names);
    }

    [Fact]
    public async Task Reflection_can_be_switched_off_for_public_deployments()
    {
        await using var server = await TestServer.StartAsync(null, "--Server:Reflection", "false");
        using var call = new ServerReflection.ServerReflectionClient(server.Channel).ServerReflectionInfo(deadline: DateTime.UtcNow.Add(TestTimeouts.Default));

        // No request is written: the server ends an unmapped method at once (trailers-only), and a write racing that
        // answer may itself fail with the status; the response side always reports it.
        var error = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext(CancellationToken.None)).Bounded();

        Assert.Equal(StatusCode.Unimplemented, error.StatusCode);
    }

    [Fact]
    public async Task Disposing_the_host_drains_and_closes_the_store()
    {
        var server = await TestServer.StartAsync();
        var store = server.Store;
        await store.CheckWritableAsync(CancellationToken.None).Bounded();

        await server.DisposeAsync();

        // The host disposed it (not merely stopped using it): the writer drained and stopped.
        var closed = await Assert.ThrowsAsync<HealthStoreUnavailableException>(() => store.CheckWritableAsync(CancellationToken.None)).Bounded();
        Assert.Contains("closed", closed.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_database_and_its_directory_are_created_owner_only()
    {
        var directory = Path.Combine(Directory.CreateTempSubdirectory("healthgrpc-modes-").FullName, "data");
        var databasePath = Path.Combine(directory, "server.db");
        await using (var server = await TestServer.StartAsync(databasePath))
        {
            var token = await server.CreateUserAsync("alice");
            await server.Client.UploadAsync(Upload(HeartRate(1, NewUuids(1))), SyncApi.As(token)).Bounded();
        }

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(directory));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(databasePath));
    }

    [Theory]
    [InlineData("http://0.0.0.0:0")]
    [InlineData("http://*:0")]
    [InlineData("http://192.0.2.1:0")]
    public async Task Plaintext_on_a_non_loopback_address_is_refused_unless_opted_in(string url)
    {
        var databasePath = Path.Combine(Directory.CreateTempSubdirectory("healthgrpc-bind-").FullName, "server.db");

        var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => ServerHost.BuildAsync(["--urls", url, "--Storage:Path", databasePath])).Bounded();

        Assert.Contains(url, refused.Message, StringComparison.Ordinal);
        Assert.Contains("Server:AllowPlaintextOnNetwork", refused.Message, StringComparison.Ordinal);
        await using var allowed = await ServerHost.BuildAsync(["--urls", url, "--Storage:Path", databasePath, "--Server:AllowPlaintextOnNetwork", "true"]).Bounded();
    }

    [Fact]
    public async Task Appsettings_next_to_the_binary_apply_whatever_the_working_directory()
    {
        var elsewhere = Directory.CreateTempSubdirectory("healthgrpc-cwd-").FullName;
        using var server = await ServerProcess.StartAsync(Path.Combine(elsewhere, "server.db"), workingDirectory: elsewhere);

        var settings = Path.Combine(AppContext.BaseDirectory, "appsettings.json");
        Assert.Contains(server.StartupLog, line => line.Contains(settings, StringComparison.Ordinal));
    }
}
