using HealthGrpc.Contracts.V1;

namespace HealthGrpc.Cli.Import;

/// <summary>
/// A Record's <c>sourceName</c>, <c>sourceVersion</c> and <c>device</c> description as the protocol's <see cref="Source"/>.
/// The description is HKDevice's debug string ("&lt;&lt;HKDevice: 0x283c9e580&gt;, name:Apple Watch, manufacturer:Apple Inc.,
/// model:Watch, hardware:Watch6,2, software:9.1&gt;"): its object address changes from export to export, so only the named
/// fields are kept, and the content id (name, manufacturer, model) stays the same across exports of the same phone.
/// </summary>
internal static class DeviceDescription
{
    public static Source ToSource(string? sourceName, string? sourceVersion, string? device)
    {
        var source = new Source { Name = Clip(sourceName, 256), SoftwareVersion = Clip(sourceVersion, 64) };
        if (!string.IsNullOrEmpty(device))
        {
            foreach (var part in device.Split(", ", StringSplitOptions.TrimEntries))
            {
                var colon = part.IndexOf(':', StringComparison.Ordinal);
                if (colon <= 0)
                {
                    continue;
                }

                var value = part[(colon + 1)..].TrimEnd('>');
                switch (part[..colon])
                {
                    case "manufacturer":
                        source.Manufacturer = Clip(value, 128);
                        break;
                    case "model":
                        source.Model = Clip(value, 128);
                        break;
                    case "hardware":
                        source.HardwareVersion = Clip(value, 64);
                        break;
                }
            }
        }

        source.Kind = KindOf(source.Model, device);
        return source;
    }

    private static DeviceKind KindOf(string model, string? device) => model switch
    {
        _ when model.Contains("Watch", StringComparison.OrdinalIgnoreCase) => DeviceKind.Watch,
        _ when model.Contains("iPhone", StringComparison.OrdinalIgnoreCase) => DeviceKind.Phone,
        _ when model.Length > 0 => DeviceKind.Wearable,
        _ when string.IsNullOrEmpty(device) => DeviceKind.App,
        _ => DeviceKind.Unspecified,
    };

    /// <summary>The protocol's string limits; a longer value would reject the whole set, and these are informational.</summary>
    private static string Clip(string? value, int max) => value is null ? string.Empty : value.Length <= max ? value : value[..max];
}
