using System.Globalization;
using System.Text.RegularExpressions;

namespace HealthGrpc.Cli.Accounts;

/// <summary>Token expiry from `--expires-in`: a duration (30d, 12h, 90m, 2w) or an ISO 8601 date/time (2027-01-31, 2027-01-31T12:00Z).</summary>
internal static partial class Expiry
{
    /// <summary>The instant the token expires, or an error message naming what was wrong.</summary>
    public static (DateTimeOffset? At, string? Error) Parse(string text, DateTimeOffset now)
    {
        var duration = DurationPattern().Match(text.Trim());
        if (duration.Success)
        {
            var amount = long.Parse(duration.Groups[1].Value, CultureInfo.InvariantCulture);
            var unit = duration.Groups[2].Value switch
            {
                "m" => TimeSpan.FromMinutes(1),
                "h" => TimeSpan.FromHours(1),
                "d" => TimeSpan.FromDays(1),
                _ => TimeSpan.FromDays(7),
            };
            return amount is > 0 and <= 100_000 ? (now + unit * amount, null) : (null, $"--expires-in {text}: the amount must be between 1 and 100000.");
        }

        if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var at))
        {
            return at > now ? (at, null) : (null, $"--expires-in {text}: that time has passed.");
        }

        return (null, $"--expires-in {text}: expected a duration (30d, 12h, 90m, 2w) or an ISO 8601 date (2027-01-31 or 2027-01-31T12:00:00Z).");
    }

    [GeneratedRegex("^([0-9]+)([mhdw])$")]
    private static partial Regex DurationPattern();
}
