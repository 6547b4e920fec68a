using Grpc.Core;
using HealthGrpc.Contracts.V1;
using HealthGrpc.Storage;

namespace HealthGrpc.Server.Tests;

/// <summary>Per-user quotas: server defaults (Quotas:*) and a user's own limits, refused RESOURCE_EXHAUSTED with the quota named.</summary>
public sealed class QuotaTests
{
    private static async Task<ErrorDetail> RefusedAsync(Task call)
    {
        var error = await Assert.ThrowsAsync<RpcException>(() => call).Bounded();
        Assert.Equal(StatusCode.ResourceExhausted, error.StatusCode);
        var detail = SyncApi.Detail(error);
        Assert.Equal(ErrorReason.QuotaExceeded, detail.Reason);
        return detail;
    }

    [Fact]
    public async Task A_new_device_over_the_device_quota_is_refused_and_known_devices_keep_syncing()
    {
        await using var server = await TestServer.StartAsync(null, "--Quotas:MaxDevices", "2");
        var options = SyncApi.As(await server.CreateUserAsync("devices-user"));
        await server.Client.UploadAsync(Batches.Upload(Batches.HeartRate(1, Batches.NewUuids(1)), Batches.Device("a")), options).Bounded();
        await server.Client.UploadAsync(Batches.Upload(Batches.HeartRate(1, Batches.NewUuids(1)), Batches.Device("b")), options).Bounded();

        var detail = await RefusedAsync(server.Client.UploadAsync(Batches.Upload(Batches.HeartRate(1, Batches.NewUuids(1)), Batches.Device("c")), options).ResponseAsync);

        Assert.Equal(("devices", 2ul, 2ul), (detail.Quota, detail.QuotaLimit, detail.QuotaUsage));
        var known = await server.Client.UploadAsync(Batches.Upload(Batches.HeartRate(2, Batches.NewUuids(1)), Batches.Device("a")), options).Bounded();
        Assert.Equal(AckOutcome.Committed, known.Ack.Outcome);
        Assert.Equal(3, await server.Store.CountSamplesAsync("devices-user", CancellationToken.None).Bounded());
    }

    [Fact]
    public async Task A_batch_over_the_users_daily_quota_is_refused_whole_after_the_acks_of_earlier_batches()
    {
        await using var server = await TestServer.StartAsync();
        var token = await server.CreateUserAsync("daily-user");
        // The user's own limit; the server default stays unlimited.
        Assert.True(await ((IQuotaStore)server.Store).SetQuotaOverrideAsync("daily-user", new QuotaOverride(null, 10, null), CancellationToken.None).Bounded());
        var (stream, _) = await SyncStream.OpenAsync(server.Client, token, Batches.Device());
        using var _ = stream;
        var first = Batches.HeartRate(1, Batches.NewUuids(4));

        // Both sent before any ack: batch 2 (11 items) is over the quota of 10 on its own.
        await stream.SendAsync(first);
        await stream.SendAsync(Batches.HeartRate(2, Batches.NewUuids(11)));

        var ack = await stream.ReadAckAsync();
        Assert.Equal((1ul, 4u), (ack.BatchSeq, ack.Accepted));
        var detail = await RefusedAsync(stream.ReadAsync());
        Assert.Equal(("samples_per_day", 10ul), (detail.Quota, detail.QuotaLimit));
        // Usage is what had committed when batch 2 was checked: batch 1 may still have been in flight then.
        Assert.True(detail.QuotaUsage is 0 or 4, $"usage {detail.QuotaUsage}");
        Assert.Equal(4, await server.Store.CountSamplesAsync("daily-user", CancellationToken.None).Bounded());

        // A replay of batch 1 is never refused: it gets its original ack. A batch that fits is still taken.
        var replay = await server.Client.UploadAsync(Batches.Upload(first), SyncApi.As(token)).Bounded();
        Assert.Equal(AckOutcome.Duplicate, replay.Ack.Outcome);
        var fits = await server.Client.UploadAsync(Batches.Upload(Batches.HeartRate(2, Batches.NewUuids(6))), SyncApi.As(token)).Bounded();
        Assert.Equal(6u, fits.Ack.Accepted);
        var full = await RefusedAsync(server.Client.UploadAsync(Batches.Upload(Batches.HeartRate(3, Batches.NewUuids(1))), SyncApi.As(token)).ResponseAsync);
        Assert.Equal(10ul, full.QuotaUsage);
    }

    [Fact]
    public async Task The_stored_bytes_quota_refuses_what_would_not_fit_and_a_users_own_unlimited_overrides_the_default()
    {
        await using var server = await TestServer.StartAsync(null, "--Quotas:MaxStoredBytes", "1000");
        var limited = SyncApi.As(await server.CreateUserAsync("bytes-user"));
        var unlimited = SyncApi.As(await server.CreateUserAsync("big-user"));
        Assert.True(await ((IQuotaStore)server.Store).SetQuotaOverrideAsync("big-user", new QuotaOverride(null, null, 0), CancellationToken.None).Bounded());

        // 10 samples count 10 rows of 64 bytes: 640. Another 10 would make 1280 > 1000.
        await server.Client.UploadAsync(Batches.Upload(Batches.HeartRate(1, Batches.NewUuids(10))), limited).Bounded();
        var detail = await RefusedAsync(server.Client.UploadAsync(Batches.Upload(Batches.HeartRate(2, Batches.NewUuids(10))), limited).ResponseAsync);
        Assert.Equal(("stored_bytes", 1000ul, 10 * (ulong)QuotaUsage.RowBytes), (detail.Quota, detail.QuotaLimit, detail.QuotaUsage));

        for (ulong seq = 1; seq <= 3; seq++)
        {
            await server.Client.UploadAsync(Batches.Upload(Batches.HeartRate(seq, Batches.NewUuids(10))), unlimited).Bounded();
        }

        Assert.Equal(30, await server.Store.CountSamplesAsync("big-user", CancellationToken.None).Bounded());
    }
}
