using Google.Protobuf.WellKnownTypes;
using HealthGrpc.Contracts;
using HealthGrpc.Contracts.V1;

namespace HealthGrpc.Client;

/// <summary>
/// Builds the chunked, delta-encoded <see cref="Waveform"/> of the wire from plain voltages (an ECG recording), and
/// decodes it back. Every chunk carries the recording's uuid, its index, the chunk count and the index of its first
/// sample; each decodes on its own (its first delta is the absolute value), and the server deduplicates per chunk.
/// </summary>
public static class WaveformEncoder
{
    /// <summary>Default most samples per chunk: 8,192 (a 30 s Apple Watch ECG at 512 Hz is two chunks).</summary>
    public const int DefaultMaxSamplesPerChunk = 8_192;

    /// <summary>Encodes a recording.</summary>
    /// <param name="uuid">The recording's stable id.</param>
    /// <param name="start">Instant of the first sample; its offset is sent as the zone offset.</param>
    /// <param name="samplingFrequencyHz">Samples per second, (0, 10000].</param>
    /// <param name="voltages">The voltages in <paramref name="unit"/>.</param>
    /// <param name="source">Who recorded it.</param>
    /// <param name="lead">The ECG lead.</param>
    /// <param name="unit">"uV" (canonical) or "mV".</param>
    /// <param name="decimalExponent">Voltages are sent as integers x 10^exponent (-9..9); each step between two samples must fit 32 bits.</param>
    /// <param name="type">DATA_TYPE_ECG (default).</param>
    /// <param name="maxSamplesPerChunk">Most samples per chunk (the server's max_points_per_series is 100,000 by default).</param>
    public static IReadOnlyList<Waveform> Encode(
        Guid uuid, DateTimeOffset start, double samplingFrequencyHz, IReadOnlyList<double> voltages, Source source,
        EcgLead lead = EcgLead.Unspecified, string unit = "uV", int decimalExponent = 0, DataType type = DataType.Ecg,
        int maxSamplesPerChunk = DefaultMaxSamplesPerChunk)
    {
        ArgumentNullException.ThrowIfNull(voltages);
        ArgumentNullException.ThrowIfNull(source);
        if (!(samplingFrequencyHz > 0 && samplingFrequencyHz <= 10_000))
        {
            throw new ArgumentOutOfRangeException(nameof(samplingFrequencyHz), samplingFrequencyHz, "The sampling frequency must be in (0, 10000] Hz.");
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(voltages.Count, 1, nameof(voltages));
        ArgumentOutOfRangeException.ThrowIfLessThan(maxSamplesPerChunk, 1, nameof(maxSamplesPerChunk));
        PackedScale.CheckExponent(decimalExponent);
        var count = (voltages.Count + maxSamplesPerChunk - 1) / maxSamplesPerChunk;
        var chunks = new List<Waveform>(count);
        var startTime = Timestamp.FromDateTimeOffset(DateTimeOffset.FromUnixTimeMilliseconds(start.ToUnixTimeMilliseconds()));
        for (var c = 0; c < count; c++)
        {
            var first = c * maxSamplesPerChunk;
            var chunk = new Waveform
            {
                Uuid = SampleUuid.ToByteString(uuid),
                Type = type,
                Source = source,
                StartTime = startTime,
                ZoneOffsetMinutes = (int)start.Offset.TotalMinutes,
                SamplingFrequencyHz = samplingFrequencyHz,
                Lead = lead,
                Unit = unit ?? "",
                DecimalExponent = decimalExponent,
                ChunkIndex = (uint)c,
                ChunkCount = (uint)count,
                FirstSampleIndex = (ulong)first,
            };
            long previous = 0;
            var end = Math.Min(voltages.Count, first + maxSamplesPerChunk);
            for (var i = first; i < end; i++)
            {
                var v = PackedScale.Scale(voltages[i], decimalExponent, i);
                var delta = v - previous;
                if (delta is < int.MinValue or > int.MaxValue)
                {
                    throw new ArgumentException($"Sample {i} ({voltages[i]}) differs from the previous one by more than a 32-bit step at decimal exponent {decimalExponent}.", nameof(voltages));
                }

                chunk.VoltageDeltas.Add((int)delta);
                previous = v;
            }

            chunks.Add(chunk);
        }

        return chunks;
    }

    /// <summary>The voltages of one chunk, in its unit (index 0 is the recording's sample <see cref="Waveform.FirstSampleIndex"/>).</summary>
    public static IReadOnlyList<double> Decode(Waveform chunk)
    {
        ArgumentNullException.ThrowIfNull(chunk);
        var values = new List<double>(chunk.VoltageDeltas.Count);
        long v = 0;
        foreach (var delta in chunk.VoltageDeltas)
        {
            v += delta;
            values.Add(PackedScale.Unscale(v, chunk.DecimalExponent));
        }

        return values;
    }
}
