using System.Buffers.Binary;
using System.Numerics;
using static HealthGrpc.Storage.Tests.TestData;

namespace HealthGrpc.Storage.Tests;

/// <summary>
/// Daily digests of a store (<see cref="IDailyDigestStore"/>, what QueryService.GetDailyDigest serves a client's
/// reconciliation): per type × UTC day of the day a sample starts in, the count and the sum mod 2^64 of the passed-in
/// hash over the 16-byte uuids of the user's stored discrete samples, optionally of one device. Every provider
/// subclasses this with a fresh, empty store per test.
/// </summary>
public abstract class DailyDigestStoreContract : IAsyncLifetime
{
    private const long DayMs = 86_400_000;

    // A UTC midnight; TestData's series and waveforms (1_700_000_000_000) start in this day.
    private const long Day0 = 1_699_920_000_000;
    private static readonly CancellationToken None = CancellationToken.None;
    private IHealthStore _store = null!;

    /// <summary>A new, empty store.</summary>
    protected abstract Task<IHealthStore> CreateStoreAsync();

    private IDailyDigestStore Digests => Assert.IsAssignableFrom<IDailyDigestStore>(_store);

    public async Task InitializeAsync() => _store = await CreateStoreAsync().T30();

    public virtual async Task DisposeAsync() => await _store.DisposeAsync();

    /// <summary>Sensitive to every byte and its position, so a uuid handed over in another byte order digests differently.</summary>
    private static ulong Hash(ReadOnlySpan<byte> uuid) => uuid.Length == 16
        ? BinaryPrimitives.ReadUInt64BigEndian(uuid) ^ BitOperations.RotateLeft(BinaryPrimitives.ReadUInt64BigEndian(uuid[8..]), 1)
        : throw new ArgumentException($"a uuid is 16 bytes, got {uuid.Length}", nameof(uuid));

    private static ulong DigestOf(params SampleRecord[] samples)
    {
        var bytes = new byte[16];
        return samples.Aggregate(0ul, (digest, sample) =>
        {
            sample.Uuid.TryWriteBytes(bytes, bigEndian: true, out _);
            return unchecked(digest + Hash(bytes));
        });
    }

    private static SampleRecord StepsSample(long start) => Sample(start: start) with { Type = Steps, Unit = "count" };

    private static DailyDigestRecord Day(int type, int day, params SampleRecord[] samples) =>
        new(type, Day0 + (day * DayMs), samples.Length, DigestOf(samples));

    private Task<IReadOnlyList<DailyDigestRecord>> ReadAsync(string user, int[] types, int days, string? device = null) =>
        Digests.ReadDailyDigestsAsync(user, types, Day0, days, device, Hash, None).T30();

    [Fact]
    public async Task Each_type_and_utc_day_asked_for_has_an_entry_in_order_with_the_samples_starting_in_it()
    {
        var user = NewUser();
        var firstMs = Sample(start: Day0);
        var lastMs = Sample(start: Day0 + DayMs - 1);
        var day1 = Sample(start: Day0 + DayMs);
        var steps = StepsSample(Day0 + (2 * DayMs) + 5);
        var before = Sample(start: Day0 - 1);
        var after = Sample(start: Day0 + (3 * DayMs));
        await _store.CommitAsync(Batch(user, "watch", 1, [firstMs, lastMs, day1, steps, before, after]), None).T30();
        await _store.CommitAsync(Batch(NewUser(), "watch", 1, [Sample(start: Day0 + 1)]), None).T30();

        var digests = await ReadAsync(user, [Steps, HeartRate, SleepStage], 3);

        Assert.Equal(
            [
                Day(Steps, 0), Day(Steps, 1), Day(Steps, 2, steps),
                Day(HeartRate, 0, firstMs, lastMs), Day(HeartRate, 1, day1), Day(HeartRate, 2),
                Day(SleepStage, 0), Day(SleepStage, 1), Day(SleepStage, 2),
            ],
            digests);
    }

    [Fact]
    public async Task A_device_keeps_what_it_uploaded_and_an_unknown_device_or_user_has_only_zeros()
    {
        var user = NewUser();
        var watch = new[] { Sample(start: Day0 + 1000), Sample(start: Day0 + 2000) };
        var phone = Sample(start: Day0 + 3000, source: Phone);
        await _store.CommitAsync(Batch(user, "watch", 1, watch), None).T30();
        await _store.CommitAsync(Batch(user, "phone", 1, [phone]), None).T30();
        // Another user's device of the same name is not this user's.
        await _store.CommitAsync(Batch(NewUser(), "watch", 1, [Sample(start: Day0 + 4000)]), None).T30();

        Assert.Equal([Day(HeartRate, 0, watch)], await ReadAsync(user, [HeartRate], 1, "watch"));
        Assert.Equal([Day(HeartRate, 0, phone)], await ReadAsync(user, [HeartRate], 1, "phone"));
        Assert.Equal([Day(HeartRate, 0, [.. watch, phone])], await ReadAsync(user, [HeartRate], 1));
        Assert.Equal([Day(HeartRate, 0)], await ReadAsync(user, [HeartRate], 1, "never-seen"));
        Assert.Equal([Day(HeartRate, 0), Day(HeartRate, 1)], await ReadAsync(NewUser(), [HeartRate], 2));
    }

    [Fact]
    public async Task A_deleted_sample_and_one_replaced_by_a_newer_sync_version_leave_their_day_and_the_replacement_counts_in_its_own()
    {
        var user = NewUser();
        var deleted = Sample(start: Day0 + 1000);
        var kept = Sample(start: Day0 + 2000);
        var v1 = Sample(start: Day0 + 3000, syncId: "hk-1", syncVersion: 1);
        var v2 = Sample(start: Day0 + DayMs + 3000, syncId: "hk-1", syncVersion: 2);
        await _store.CommitAsync(Batch(user, "watch", 1, [deleted, kept, v1]), None).T30();
        await _store.CommitAsync(Batch(user, "watch", 2, [v2], deletions: [new TombstoneRecord(deleted.Uuid, Day0 + 5000)]), None).T30();

        Assert.Equal([Day(HeartRate, 0, kept), Day(HeartRate, 1, v2)], await ReadAsync(user, [HeartRate], 2, "watch"));
    }

    [Fact]
    public async Task Series_and_waveforms_are_not_counted()
    {
        var user = NewUser();
        var sample = Sample(start: Day0 + 1000);
        var ecg = Guid.NewGuid();
        await _store.CommitAsync(Batch(user, "watch", 1, [sample], series: [Series()], waveforms: [Waveform(ecg, 0), Waveform(ecg, 1)]), None).T30();

        Assert.Equal([Day(HeartRate, 0, sample), Day(Ecg, 0)], await ReadAsync(user, [HeartRate, Ecg], 1, "watch"));
    }

    [Fact]
    public async Task The_hash_gets_each_uuids_16_big_endian_bytes_and_the_digest_wraps_modulo_2_to_the_64()
    {
        var user = NewUser();
        // Hash of each: its first 8 bytes as a big-endian word (the rest is zero), 2^64 - 2 and 3; in .NET's own
        // (little-endian) Guid byte layout they would be other numbers.
        var high = Sample(Guid.Parse("ffffffff-ffff-fffe-0000-000000000000"), start: Day0 + 1000);
        var three = Sample(Guid.Parse("00000000-0000-0003-0000-000000000000"), start: Day0 + 2000);
        await _store.CommitAsync(Batch(user, "watch", 1, [high, three]), None).T30();

        Assert.Equal([new DailyDigestRecord(HeartRate, Day0, 2, 1)], await ReadAsync(user, [HeartRate], 1));
    }
}
