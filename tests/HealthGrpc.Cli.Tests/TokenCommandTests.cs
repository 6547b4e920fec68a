using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Grpc.Core;
using HealthGrpc.Cli.Tests.Infrastructure;
using HealthGrpc.Storage.Sqlite;

namespace HealthGrpc.Cli.Tests;

public sealed class TokenCommandTests
{
    [Fact]
    public async Task TokenCreate_PrintsOnlyTheToken_AndListShowsItsIdAndExpiry_NeverTheToken()
    {
        using var store = new TempStore();
        (await Healthgrpc.RunAsync("user", "create", "alice", "--store", store.Path)).Succeeded();
        var before = DateTimeOffset.UtcNow;

        var token = (await Healthgrpc.RunAsync("token", "create", "alice", "--expires-in", "30d", "--store", store.Path)).Succeeded().Stdout.Trim();

        Assert.Matches("^hgt_[A-Za-z0-9_-]{43}$", token);
        var id = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(token)))[..12];
        var listed = (await Healthgrpc.RunAsync("token", "list", "alice", "--json", "--store", store.Path)).Succeeded();
        Assert.DoesNotContain(token, listed.Stdout, StringComparison.Ordinal);
        var entry = Assert.Single(listed.Json().EnumerateArray());
        Assert.Equal(id, entry.GetProperty("id").GetString());
        Assert.Equal("alice", entry.GetProperty("userId").GetString());
        Assert.Equal(JsonValueKind.Null, entry.GetProperty("revokedAt").ValueKind);
        var expires = entry.GetProperty("expiresAt").GetDateTimeOffset();
        Assert.InRange(expires, before.AddDays(30), DateTimeOffset.UtcNow.AddDays(30));

        var table = (await Healthgrpc.RunAsync("token", "list", "--store", store.Path)).Succeeded().Stdout;
        Assert.Contains(id, table, StringComparison.Ordinal);
        Assert.Contains(expires.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture), table, StringComparison.Ordinal);
        Assert.DoesNotContain(token, table, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("soon", "expected a duration")]
    [InlineData("2001-01-01", "that time has passed")]
    public async Task TokenCreate_BadExpiry_ExitsOneNamingTheOption_AndIssuesNothing(string expiry, string reason)
    {
        using var store = new TempStore();
        (await Healthgrpc.RunAsync("user", "create", "alice", "--store", store.Path)).Succeeded();

        var run = await Healthgrpc.RunAsync("token", "create", "alice", "--expires-in", expiry, "--store", store.Path);

        Assert.Equal(1, run.ExitCode);
        Assert.Contains($"--expires-in {expiry}: {reason}", run.Stderr, StringComparison.Ordinal);
        Assert.Equal(0, (await Healthgrpc.RunAsync("token", "list", "--json", "--store", store.Path)).Succeeded().Json().GetArrayLength());
    }

    [Fact]
    public async Task TokenCreate_UnknownUser_ExitsOne()
    {
        using var store = new TempStore();
        (await Healthgrpc.RunAsync("user", "create", "alice", "--store", store.Path)).Succeeded();

        var run = await Healthgrpc.RunAsync("token", "create", "mallory", "--store", store.Path);

        Assert.Equal(1, run.ExitCode);
        Assert.Equal("", run.Stdout);
        Assert.Contains("no user 'mallory'", run.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TokenRevoke_EndsASyncStreamOpenedBefore_WithUnauthenticated_AfterAckingWhatCameBefore()
    {
        using var store = new TempStore();
        var token = await Healthgrpc.CreateUserWithTokenAsync(store.Path, "alice");
        var other = (await Healthgrpc.RunAsync("token", "create", "alice", "--store", store.Path)).Succeeded().Stdout.Trim();
        using var server = await ServeProcess.StartAsync(store.Path);
        using var call = server.Client.Sync(ServeProcess.Bearer(token));
        await call.RequestStream.WriteAsync(Batches.Hello()).Bounded();
        Assert.True(await call.ResponseStream.MoveNext().Bounded());
        await call.RequestStream.WriteAsync(Batches.Sync(1)).Bounded();
        Assert.True(await call.ResponseStream.MoveNext().Bounded());
        Assert.Equal(1ul, call.ResponseStream.Current.Ack.BatchSeq);

        var id = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(token)))[..12];
        (await Healthgrpc.RunAsync("token", "revoke", id, "--store", store.Path)).Succeeded();
        await call.RequestStream.WriteAsync(Batches.Sync(2)).Bounded();

        var ended = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext().Bounded());
        Assert.Equal(StatusCode.Unauthenticated, ended.StatusCode);
        Assert.Contains($"bearer token {id} was revoked", ended.Status.Detail, StringComparison.Ordinal);
        // Only the revoked token stopped: the user's other token still uploads, and batch 2 was never stored.
        var ack = (await server.Client.UploadAsync(Batches.Upload(2), ServeProcess.Bearer(other)).ResponseAsync.Bounded()).Ack;
        Assert.Equal(3u, ack.Accepted);
        var listed = (await Healthgrpc.RunAsync("token", "list", "--json", "--store", store.Path)).Succeeded().Json().EnumerateArray();
        Assert.NotEqual(JsonValueKind.Null, listed.Single(t => t.GetProperty("id").GetString() == id).GetProperty("revokedAt").ValueKind);
    }

    [Fact]
    public async Task ExpiredToken_IsRefusedWithUnauthenticated_SayingItExpired()
    {
        using var store = new TempStore();
        (await Healthgrpc.RunAsync("user", "create", "alice", "--store", store.Path)).Succeeded();
        // The command refuses a past expiry, so the expired token is written through the store API (as a token issued
        // with --expires-in that has since run out).
        var token = "hgt_expired-" + Guid.NewGuid().ToString("N");
        await using (var sqlite = await SqliteHealthStore.OpenAsync(store.Path).Bounded())
        {
            Assert.NotNull(await sqlite.IssueTokenAsync("alice", SHA256.HashData(Encoding.UTF8.GetBytes(token)), DateTimeOffset.UtcNow.AddMinutes(-1), CancellationToken.None).Bounded());
        }

        using var server = await ServeProcess.StartAsync(store.Path);

        var refused = await Assert.ThrowsAsync<RpcException>(() => server.Client.UploadAsync(Batches.Upload(1), ServeProcess.Bearer(token)).ResponseAsync.Bounded());
        Assert.Equal(StatusCode.Unauthenticated, refused.StatusCode);
        Assert.Contains("expired at", refused.Status.Detail, StringComparison.Ordinal);
        var users = (await Healthgrpc.RunAsync("user", "list", "--json", "--store", store.Path)).Succeeded().Json();
        Assert.Equal(0, users[0].GetProperty("activeTokens").GetInt32());
    }

    [Fact]
    public async Task TokenRevoke_UnknownId_ExitsOne()
    {
        using var store = new TempStore();
        await Healthgrpc.CreateUserWithTokenAsync(store.Path, "alice");

        var run = await Healthgrpc.RunAsync("token", "revoke", "000000000000", "--store", store.Path);

        Assert.Equal(1, run.ExitCode);
        Assert.Contains("no token '000000000000'", run.Stderr, StringComparison.Ordinal);
    }
}
