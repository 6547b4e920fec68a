using System.Globalization;

namespace HealthGrpc.Cli.Import;

/// <summary>Dates of an export: "2024-03-01 07:15:02 +0100" (local time and its UTC offset), whatever the phone's locale.</summary>
internal static class HealthKitTime
{
    public static bool TryParse(string? text, out DateTimeOffset time)
    {
        time = default;
        // yyyy-MM-dd HH:mm:ss ±hhmm: 25 characters.
        if (text is not { Length: 25 } || text[10] != ' ' || text[19] != ' ' || text[20] is not ('+' or '-'))
        {
            return false;
        }

        var span = text.AsSpan();
        if (!DateTime.TryParseExact(span[..19], "yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture, DateTimeStyles.None, out var local)
            || !int.TryParse(span.Slice(21, 2), NumberStyles.None, CultureInfo.InvariantCulture, out var hours)
            || !int.TryParse(span.Slice(23, 2), NumberStyles.None, CultureInfo.InvariantCulture, out var minutes)
            || hours > 14 || minutes > 59)
        {
            return false;
        }

        var offset = new TimeSpan(hours, minutes, 0);
        try
        {
            time = new DateTimeOffset(local, text[20] == '-' ? -offset : offset);
            return true;
        }
        catch (ArgumentOutOfRangeException)
        {
            return false; // a local time that leaves the representable range once the offset is applied
        }
    }
}
