namespace HealthGrpc.LoadTest;

/// <summary>One load run's parameters. Named scenarios fill the defaults; options override them.</summary>
internal sealed record Settings(
    string Scenario,
    int Devices,
    double RateHz,
    long SamplesPerDevice,
    int BatchSize,
    string Encoding,
    double DuplicateRatio,
    int InFlight,
    bool LatencyPhase,
    int LatencySeconds = 15,
    int NaiveSamples = 5_000,
    long JsonSamples = long.MaxValue,
    bool InProc = false,
    string? JsonPath = null)
{
    public bool Series => string.Equals(Encoding, "series", StringComparison.OrdinalIgnoreCase);

    public bool Waveform => string.Equals(Encoding, "waveform", StringComparison.OrdinalIgnoreCase);

    /// <summary>Series and waveforms carry many points per stored row: throughput is points/s.</summary>
    public bool Points => Series || Waveform;

    public static Settings ForScenario(string name) => name switch
    {
        // 1,000 wearables at 1 Hz, each with 1 h of queued heart rate (6 batches of 10 min), all streaming at once as fast as acks allow
        // (max throughput), then a paced phase at half the measured rate for ack latency.
        "steady-1hz" => new(name, 1_000, 1, 3_600, 600, "discrete", 0, 16, true),
        // One device offline for a year: 525,600 samples at 1/min, max-size batches, 16 in flight.
        "backfill" => new(name, 1, 1.0 / 60, 525_600, 10_000, "discrete", 0, 16, false),
        // 500 devices reconnecting at once, each with 2 h of 1 Hz data queued; a quarter of it re-sent (dedup).
        "burst-reconnect" => new(name, 500, 1, 7_200, 1_000, "discrete", 0.25, 16, false),
        // Series encoding: 100 devices x 100 h of 1 Hz heart rate as packed delta columns, one 36,000-point series per batch.
        "series" => new(name, 100, 1, 360_000, 36_000, "series", 0, 16, false),
        // ECG: 1,000 devices x 30 s of 512 Hz single-lead voltages (15,360 points), as waveform chunks of 5,120 points (10 s).
        "ecg" => new(name, 1_000, 512, 15_360, 5_120, "waveform", 0, 16, false),
        "custom" => new(name, 100, 1, 10_000, 1_000, "discrete", 0, 16, false),
        _ => throw new ArgumentException($"unknown scenario '{name}'"),
    };
}
