namespace HealthGrpc.Cli.Simulate;

/// <summary>What the simulated fleet sent and what the server acked, with the send-to-ack lag. Thread-safe.</summary>
internal sealed class FleetStats
{
    private const int LagCapMs = 60_000;
    private readonly long[] _lagHistogram = new long[LagCapMs + 1];
    private long _connected, _batchesSent, _samplesSent, _acks, _accepted, _duplicates, _rejected, _errors, _skippedTicks, _maxLagMs;

    public long Connected => Interlocked.Read(ref _connected);

    public long BatchesSent => Interlocked.Read(ref _batchesSent);

    public long SamplesSent => Interlocked.Read(ref _samplesSent);

    public long Acks => Interlocked.Read(ref _acks);

    /// <summary>Samples the server acked as stored.</summary>
    public long Accepted => Interlocked.Read(ref _accepted);

    public long Duplicates => Interlocked.Read(ref _duplicates);

    public long Rejected => Interlocked.Read(ref _rejected);

    /// <summary>Streams that failed (each device reconnects and re-sends what was not acked).</summary>
    public long Errors => Interlocked.Read(ref _errors);

    /// <summary>Ticks with no batch sent because the device already had the server's limit of batches in flight (the server is behind).</summary>
    public long SkippedTicks => Interlocked.Read(ref _skippedTicks);

    public long MaxLagMs => Interlocked.Read(ref _maxLagMs);

    public void DeviceConnected() => Interlocked.Increment(ref _connected);

    public void DeviceDisconnected() => Interlocked.Decrement(ref _connected);

    public void Sent(int samples)
    {
        Interlocked.Increment(ref _batchesSent);
        Interlocked.Add(ref _samplesSent, samples);
    }

    public void Acked(uint accepted, uint duplicates, uint rejected, TimeSpan lag)
    {
        Interlocked.Increment(ref _acks);
        Interlocked.Add(ref _accepted, accepted);
        Interlocked.Add(ref _duplicates, duplicates);
        Interlocked.Add(ref _rejected, rejected);
        var ms = (long)Math.Clamp(lag.TotalMilliseconds, 0, LagCapMs);
        Interlocked.Increment(ref _lagHistogram[ms]);
        long seen;
        while (ms > (seen = Interlocked.Read(ref _maxLagMs)) && Interlocked.CompareExchange(ref _maxLagMs, ms, seen) != seen)
        {
        }
    }

    public void Failed() => Interlocked.Increment(ref _errors);

    public void SkippedTick() => Interlocked.Increment(ref _skippedTicks);

    /// <summary>The lag (ms, 1 ms resolution, capped at 60 s) that <paramref name="fraction"/> of the acks did not exceed.</summary>
    public long LagPercentileMs(double fraction)
    {
        var total = Acks;
        if (total == 0)
        {
            return 0;
        }

        var target = (long)Math.Ceiling(total * fraction);
        long seen = 0;
        for (var ms = 0; ms <= LagCapMs; ms++)
        {
            seen += Interlocked.Read(ref _lagHistogram[ms]);
            if (seen >= target)
            {
                return ms;
            }
        }

        return LagCapMs;
    }
}
