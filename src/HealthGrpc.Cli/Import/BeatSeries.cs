using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using HealthGrpc.Client;
using HealthGrpc.Contracts.V1;

namespace HealthGrpc.Cli.Import;

/// <summary>One InstantaneousBeatsPerMinute child of an HRV record, as written: bpm="62" time="7:05:00.00 AM".</summary>
internal readonly record struct ExportBeat(string? Bpm, string? Time);

/// <summary>
/// The beat-to-beat heart rate an Apple Watch records with an HRV (SDNN) reading, sent as one irregular
/// DATA_TYPE_HEART_RATE series per record (bpm per beat, each with its own time). Its uuid is derived from its content
/// (source name, device manufacturer and model, the record's start, every beat: what the server's content id of a sample
/// uses), so importing the same export again, or a later export of the same phone, sends the same uuid and the server
/// keeps one copy.
/// </summary>
internal static class BeatSeries
{
    /// <summary>The summary row of these series: one item per HRV record that carries beats.</summary>
    public const string Row = "InstantaneousBeatsPerMinute";

    /// <summary>Beats are written as a time of day (the phone's locale decides 12- or 24-hour), hundredths optional.</summary>
    private static readonly string[] TimeFormats = ["h:mm:ss.FFF tt", "h:mm:ss tt", "H:mm:ss.FFF", "H:mm:ss"];

    /// <summary>A beat this much before the record's start is on the next day: the record crossed midnight.</summary>
    private static readonly TimeSpan BeforeStartTolerance = TimeSpan.FromHours(1);

    /// <summary>The series of <paramref name="beats"/> (one part unless a record holds more than 10,000), or the reason it is not sent.</summary>
    public static IReadOnlyList<Series>? TryBuild(
        IReadOnlyList<ExportBeat> beats, DateTimeOffset recordStart, Source source, out string? error)
    {
        var points = new List<SeriesPoint>(beats.Count);
        foreach (var beat in beats)
        {
            if (!double.TryParse(beat.Bpm, NumberStyles.Float, CultureInfo.InvariantCulture, out var bpm) || !double.IsFinite(bpm))
            {
                error = $"not sent: beat bpm '{beat.Bpm}' is not a number";
                return null;
            }

            if (!TimeOnly.TryParseExact(beat.Time, TimeFormats, CultureInfo.InvariantCulture, DateTimeStyles.None, out var timeOfDay))
            {
                error = $"not sent: beat time '{beat.Time}' is not a time of day like '7:05:00.00 AM'";
                return null;
            }

            var time = new DateTimeOffset(recordStart.Date + timeOfDay.ToTimeSpan(), recordStart.Offset);
            if (time < recordStart - BeforeStartTolerance)
            {
                time = time.AddDays(1);
            }

            if (points.Count > 0 && time < points[^1].Time)
            {
                error = $"not sent: beat time '{beat.Time}' is before the beat written before it";
                return null;
            }

            points.Add(new SeriesPoint(time, bpm));
        }

        error = null;
        var whole = points.TrueForAll(p => p.Value == Math.Floor(p.Value));
        return SeriesEncoder.Irregular(ContentUuid(points, recordStart, source), DataType.HeartRate, points, source, decimalExponent: whole ? 0 : -2);
    }

    /// <summary>
    /// SHA-256 of what identifies the series whatever export it comes from, as an RFC 9562 version-8 uuid. Not the export's
    /// ordinal, nor the raw device string: the HKDevice address in it changes between exports of the same phone.
    /// </summary>
    private static Guid ContentUuid(List<SeriesPoint> points, DateTimeOffset recordStart, Source source)
    {
        var text = new StringBuilder("healthgrpc-import/apple-health/beats/v1\n")
            .Append(source.Name).Append('\n').Append(source.Manufacturer).Append('\n').Append(source.Model).Append('\n')
            .Append(CultureInfo.InvariantCulture, $"{recordStart.ToUnixTimeMilliseconds()}\n");
        foreach (var point in points)
        {
            text.Append(CultureInfo.InvariantCulture, $"{point.Time.ToUnixTimeMilliseconds()}:{point.Value:R}\n");
        }

        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString()));
        hash[6] = (byte)((hash[6] & 0x0F) | 0x80); // version 8: custom
        hash[8] = (byte)((hash[8] & 0x3F) | 0x80); // RFC 9562 variant
        return new Guid(hash.AsSpan(0, 16), bigEndian: true);
    }
}
