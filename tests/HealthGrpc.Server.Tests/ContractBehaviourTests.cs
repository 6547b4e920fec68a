using System.Reflection;
using System.Text.RegularExpressions;
using Google.Protobuf.Reflection;
using HealthGrpc.Contracts.V1;
using Grpc.Core;
using HealthGrpc.Server.Ingest;
using static HealthGrpc.Server.Tests.Batches;

namespace HealthGrpc.Server.Tests;

/// <summary>Issue 9 item 8: what sync.proto and docs/protocol.md promise is what the server does.</summary>
public sealed partial class ContractBehaviourTests : ServerTest
{
    private Task<UploadResponse> UploadAsync(Batch batch, DeviceIdentity? device = null) =>
        Server.Client.UploadAsync(Upload(batch, device), SyncApi.As(Token)).Bounded();

    [Fact]
    public async Task A_fenced_epoch_reports_the_high_water_mark_of_its_own_epoch_at_hello_and_on_upload()
    {
        await UploadAsync(HeartRate(1, NewUuids(1)), Device(epoch: 1));
        await UploadAsync(HeartRate(2, NewUuids(1)), Device(epoch: 1));
        await UploadAsync(HeartRate(3, NewUuids(1)), Device(epoch: 1));
        await UploadAsync(HeartRate(1, NewUuids(1)), Device(epoch: 2));

        var atHello = await Assert.ThrowsAsync<RpcException>(() => SyncStream.OpenAsync(Server.Client, Token, Device(epoch: 1)));
        var onUpload = await Assert.ThrowsAsync<RpcException>(() => UploadAsync(HeartRate(4, NewUuids(1)), Device(epoch: 1)));

        foreach (var error in new[] { atHello, onUpload })
        {
            Assert.Equal(StatusCode.FailedPrecondition, error.StatusCode);
            var detail = SyncApi.Detail(error);
            Assert.Equal(ErrorReason.EpochFenced, detail.Reason);
            Assert.Equal(3u, detail.HighWaterMark); // epoch 1's, the call's; epoch 2 is at 1
            Assert.Equal(2u, detail.CurrentEpoch);
        }
    }

    [Fact]
    public async Task A_fenced_batch_on_a_stream_reports_the_high_water_mark_of_the_streams_epoch()
    {
        var (stream, welcome) = await SyncStream.OpenAsync(Server.Client, Token, Device(epoch: 1));
        using var _ = stream;
        await stream.SendAsync(HeartRate(1, NewUuids(1)));
        await stream.SendAsync(HeartRate(2, NewUuids(1)));
        Assert.Equal(0u, welcome.HighWaterMark);
        var acks = new[] { await stream.ReadAckAsync(), await stream.ReadAckAsync() };
        Assert.Equal(new ulong[] { 1, 2 }, acks.Select(a => a.HighWaterMark));
        await UploadAsync(HeartRate(1, NewUuids(1)), Device(epoch: 2));

        await stream.SendAsync(HeartRate(3, NewUuids(1)));
        var error = await Assert.ThrowsAsync<RpcException>(stream.ReadAsync);

        var detail = SyncApi.Detail(error);
        Assert.Equal((ErrorReason.EpochFenced, 2u, 2u), (detail.Reason, detail.HighWaterMark, detail.CurrentEpoch));
    }

    [Fact]
    public async Task A_duplicate_ack_repeats_the_original_counts_and_carries_the_current_high_water_mark()
    {
        var first = (await UploadAsync(HeartRate(1, NewUuids(3)))).Ack;
        await UploadAsync(HeartRate(2, NewUuids(1)));
        await UploadAsync(HeartRate(3, NewUuids(1)));

        var replay = (await UploadAsync(HeartRate(1, NewUuids(3)))).Ack;

        Assert.Equal(AckOutcome.Duplicate, replay.Outcome);
        Assert.Equal(3u, replay.HighWaterMark);
        Assert.Equal(1u, first.HighWaterMark);
        Assert.Equal((first.BatchSeq, first.Accepted, first.ChangeToken, first.CommitTime), (replay.BatchSeq, replay.Accepted, replay.ChangeToken, replay.CommitTime));
        Assert.Equal(first.CommittedAnchors, replay.CommittedAnchors);
        Assert.Equal(5, await Server.Store.CountSamplesAsync("alice", CancellationToken.None).Bounded());
    }

    [Fact]
    public async Task A_duplicate_ack_on_a_stream_carries_the_current_high_water_mark()
    {
        await UploadAsync(HeartRate(1, NewUuids(1)));
        await UploadAsync(HeartRate(2, NewUuids(1)));
        var (stream, welcome) = await SyncStream.OpenAsync(Server.Client, Token, Device());
        using var _ = stream;

        await stream.SendAsync(HeartRate(1, NewUuids(1)));
        var ack = await stream.ReadAckAsync();

        Assert.Equal(2u, welcome.HighWaterMark);
        Assert.Equal((AckOutcome.Duplicate, 2u), (ack.Outcome, ack.HighWaterMark));
    }

    [Fact]
    public void Docs_list_exactly_the_units_the_server_accepts_per_type()
    {
        var rows = File.ReadAllLines(FindRepositoryFile("docs/protocol.md")).Where(l => l.StartsWith("| `", StringComparison.Ordinal)).ToList();
        var checkedTypes = 0;
        foreach (var type in System.Enum.GetValues<DataType>())
        {
            if (!TypeRules.TryGet(type, out var rule) || rule.IsCategory)
            {
                continue;
            }

            var name = typeof(DataType).GetField(type.ToString())!.GetCustomAttribute<OriginalNameAttribute>()!.Name["DATA_TYPE_".Length..];
            var row = Assert.Single(rows, r => r.Split('|')[1].Contains($"`{name}`", StringComparison.Ordinal));
            var columns = row.Split('|');
            var documented = Backticked().Matches(columns[2] + columns[3]).Select(m => m.Groups[1].Value).ToHashSet(StringComparer.OrdinalIgnoreCase);
            Assert.True(documented.SetEquals(rule.Units.Keys),
                $"{name}: docs list [{string.Join(", ", documented)}], TypeRules accepts [{string.Join(", ", rule.Units.Keys)}]");
            Assert.Equal(rule.CanonicalUnit, Backticked().Match(columns[2]).Groups[1].Value);
            checkedTypes++;
        }

        Assert.True(checkedTypes >= 15, $"only {checkedTypes} quantity types checked");
    }

    [Fact]
    public void Sync_proto_no_longer_contradicts_itself_on_oversize_and_reasons()
    {
        var sync = File.ReadAllText(FindRepositoryFile("proto/healthgrpc/v1/sync.proto"));
        var samples = File.ReadAllText(FindRepositoryFile("proto/healthgrpc/v1/samples.proto"));
        var invalidArgument = sync[sync.IndexOf("// - INVALID_ARGUMENT", StringComparison.Ordinal)..sync.IndexOf("// - FAILED_PRECONDITION", StringComparison.Ordinal)];

        Assert.DoesNotContain("over", invalidArgument, StringComparison.Ordinal);
        Assert.DoesNotContain("OVERSIZE_RECORD", sync + samples, StringComparison.Ordinal);
        // String limits count characters (UTF-16 code units), which is what the validator measures.
        Assert.DoesNotContain("256 bytes", samples, StringComparison.Ordinal);
        Assert.DoesNotContain("64 bytes", samples, StringComparison.Ordinal);
        Assert.DoesNotContain("1..128 bytes", sync, StringComparison.Ordinal);
    }

    private static string FindRepositoryFile(string relative)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, relative);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new FileNotFoundException(relative);
    }

    [GeneratedRegex("`([^`]+)`")]
    private static partial Regex Backticked();
}
