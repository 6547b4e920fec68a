using System.Text;
using Google.Protobuf;
using HealthGrpc.Contracts;

namespace HealthGrpc.Storage.Tests;

/// <summary>Builders for domain records and batches used by the contract tests.</summary>
internal static class TestData
{
    public const int HeartRate = 5;
    public const int Steps = 8;
    public const int SleepStage = 40;
    public const int Ecg = 50;

    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    public static readonly SourceRecord Watch = new(1, "Alice's Apple Watch", "Apple", "Watch7,1", "", "11.0", "com.apple.health");
    public static readonly SourceRecord Phone = new(2, "Alice's iPhone", "Apple", "iPhone16,1", "", "18.0", "com.apple.health");

    public static string NewUser() => "user-" + Guid.NewGuid().ToString("N");

    public static SampleRecord Sample(
        Guid? uuid = null,
        long start = 1_700_000_000_000,
        double value = 72,
        string? syncId = null,
        ulong syncVersion = 0,
        SourceRecord? source = null,
        IReadOnlyDictionary<string, string>? metadata = null)
        => new(uuid ?? Guid.NewGuid(), HeartRate, null, start, start, 60, value, null, "count/min", source ?? Watch, syncId, syncVersion, metadata);

    public static SeriesRecord Series(Guid? uuid = null, int points = 60)
        => Series(Enumerable.Range(0, points).Select(i => new SeriesPoint(1_700_000_000_000 + i * 1000L, 60 + (i % 40))).ToArray(), uuid: uuid);

    /// <summary>A heart-rate series of <paramref name="points"/> (values scaled by 10^<paramref name="exponent"/>), its payload encoded like the server stores it.</summary>
    public static SeriesRecord Series(SeriesPoint[] points, int exponent = 0, SourceRecord? source = null, Guid? uuid = null)
    {
        var id = uuid ?? Guid.NewGuid();
        var series = new HealthGrpc.Contracts.V1.Series { Uuid = ByteString.CopyFrom(id.ToByteArray(bigEndian: true)), DecimalExponent = exponent };
        SeriesColumns.Encode(series, points);
        return new(id, HeartRate, null, "count/min", source ?? Watch, points[0].UnixMilliseconds, points[^1].UnixMilliseconds, 60,
            points.Length, series.ToByteArray());
    }

    /// <summary>The value a stored series point has (and a discrete sample of the same value must carry).</summary>
    public static double PointValue(SeriesPoint point, int exponent) => point.ScaledValue * Math.Pow(10, exponent);

    public static WaveformRecord Waveform(Guid uuid, uint chunk, uint chunkCount = 2)
        => new(uuid, chunk, chunkCount, Ecg, null, "uV", Watch, 1_700_000_000_000, 60, 512, 1, chunk * 512UL, 512, [1, 2, 3, (byte)chunk]);

    /// <summary>A deterministic ack encoding: every field of the result, so replays can be compared byte for byte.</summary>
    public static byte[] EncodeAck(CommitResult r)
        => Encoding.UTF8.GetBytes(
            $"seq={r.BatchSeq};rej={r.RejectedAtomic};acc={r.Accepted};dup={r.Duplicates};rep={r.Replaced};del={r.IgnoredDeleted};" +
            $"bad={r.Rejected};anchors={r.CommittedAnchors.Count};hwm={r.HighWaterMark};t={r.CommitTime.ToUnixTimeMilliseconds()};" +
            $"cs={r.ChangeSequence};nonce={Guid.NewGuid():N}");

    public static IngestBatch Batch(
        string user,
        string device,
        ulong seq,
        IReadOnlyList<SampleRecord>? samples = null,
        ulong epoch = 1,
        bool atomic = false,
        int rejected = 0,
        IReadOnlyList<AnchorRecord>? anchors = null,
        IReadOnlyList<SeriesRecord>? series = null,
        IReadOnlyList<WaveformRecord>? waveforms = null,
        IReadOnlyList<TombstoneRecord>? deletions = null,
        IReadOnlyList<DocumentRecord>? records = null,
        Func<CommitResult, byte[]>? encodeAck = null)
        => new(user, device, epoch, seq, atomic, anchors ?? [], samples ?? [], series ?? [], waveforms ?? [], deletions ?? [],
            records ?? [], rejected, encodeAck ?? EncodeAck);

    public static CommitResult Committed(this CommitOutcome outcome)
        => Assert.IsType<CommitOutcome.Committed>(outcome).Result;

    public static async Task<T> T30<T>(this Task<T> task) => await task.WaitAsync(Timeout);

    public static async Task T30(this Task task) => await task.WaitAsync(Timeout);

    public static async Task<List<ChangeRecord>> ReadAllChangesAsync(IHealthStore store, string user, long after = 0, int pageSize = 1000)
    {
        var all = new List<ChangeRecord>();
        while (true)
        {
            var page = await store.ReadChangesAsync(user, after, pageSize, CancellationToken.None).T30();
            all.AddRange(page.Changes);
            if (page.Changes.Count > 0)
            {
                after = page.Changes[^1].Sequence;
            }

            if (!page.HasMore)
            {
                return all;
            }
        }
    }
}
