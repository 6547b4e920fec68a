using System.Globalization;
using System.Text.RegularExpressions;
using NodaTime;
using NodaTime.Text;

namespace HealthGrpc.Cli.Query;

/// <summary>
/// A point in time as people type it on a command line: an instant with its offset (2026-11-30T08:00:00Z,
/// 2026-11-30T09:00:00+01:00), a local date or date-time read in the --zone (2026-11-30, 2026-11-30T08:00), "now", or a
/// span before now (30m, 24h, 7d). Relative spans keep scripts and the README free of hard-coded times.
/// </summary>
internal static partial class TimeArgument
{
    private static readonly LocalDateTimePattern LocalDateTime = LocalDateTimePattern.CreateWithInvariantCulture("uuuu-MM-dd'T'HH:mm:ss");
    private static readonly LocalDateTimePattern LocalMinute = LocalDateTimePattern.CreateWithInvariantCulture("uuuu-MM-dd'T'HH:mm");
    private static readonly LocalDatePattern LocalDate = LocalDatePattern.CreateWithInvariantCulture("uuuu-MM-dd");

    public const string Help = "an instant (2026-11-30T08:00:00Z), a local date or time in --zone (2026-11-30, 2026-11-30T08:00), now, or a span before now (30m, 24h, 7d)";

    /// <summary>The instant, or null when the text is none of the accepted forms.</summary>
    public static Instant? Parse(string text, DateTimeZone zone, Instant now)
    {
        text = text.Trim();
        if (text.Equals("now", StringComparison.OrdinalIgnoreCase))
        {
            return now;
        }

        var ago = AgoPattern().Match(text);
        if (ago.Success)
        {
            var amount = long.Parse(ago.Groups[1].Value, CultureInfo.InvariantCulture);
            var span = ago.Groups[2].Value switch
            {
                "s" => Duration.FromSeconds(amount),
                "m" => Duration.FromMinutes(amount),
                "h" => Duration.FromHours(amount),
                _ => Duration.FromDays(amount),
            };
            return now - span;
        }

        if (DateTimeOffset.TryParseExact(text, ["yyyy-MM-dd'T'HH:mm:ssK", "yyyy-MM-dd'T'HH:mm:ss.FFFFFFFK", "yyyy-MM-dd'T'HH:mmK"], CultureInfo.InvariantCulture, DateTimeStyles.None, out var absolute)
            && (text.EndsWith('Z') || text.EndsWith('z') || OffsetPattern().IsMatch(text)))
        {
            return Instant.FromDateTimeOffset(absolute);
        }

        foreach (var pattern in new[] { LocalDateTime, LocalMinute })
        {
            if (pattern.Parse(text) is { Success: true } local)
            {
                return local.Value.InZoneLeniently(zone).ToInstant();
            }
        }

        return LocalDate.Parse(text) is { Success: true } date ? zone.AtStartOfDay(date.Value).ToInstant() : null;
    }

    [GeneratedRegex("^([0-9]{1,9})([smhd])$")]
    private static partial Regex AgoPattern();

    [GeneratedRegex("[+-][0-9]{2}:?[0-9]{2}$")]
    private static partial Regex OffsetPattern();
}
