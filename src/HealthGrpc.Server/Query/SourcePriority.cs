using HealthGrpc.Contracts.V1;
using HealthGrpc.Storage;

namespace HealthGrpc.Server.Query;

/// <summary>
/// Which source wins a 15-minute slot when several recorded the same type: the kind ranked highest (the request's
/// order, then the owner's stored order, then the default WATCH > PHONE > WEARABLE > SCALE > MEDICAL_DEVICE > APP > MANUAL > UNSPECIFIED, as
/// source.proto documents); between two sources of one kind, the one whose identity fields sort first (ordinal), so
/// the choice never depends on storage order.
/// </summary>
internal sealed class SourcePriority : IComparer<SourceRecord>
{
    private static readonly DeviceKind[] DefaultOrder =
    [
        DeviceKind.Watch, DeviceKind.Phone, DeviceKind.Wearable, DeviceKind.Scale, DeviceKind.MedicalDevice,
        DeviceKind.App, DeviceKind.Manual, DeviceKind.Unspecified,
    ];

    private readonly Dictionary<int, int> _rank = [];

    /// <param name="preferred">Kinds the caller ranks first, highest first (repeats ignored).</param>
    public SourcePriority(IEnumerable<DeviceKind> preferred)
    {
        foreach (var kind in preferred.Concat(DefaultOrder))
        {
            _rank.TryAdd((int)kind, _rank.Count);
        }
    }

    /// <summary>0 for the highest-ranked kind; kinds outside the contract rank last.</summary>
    public int Rank(int kind) => _rank.TryGetValue(kind, out var rank) ? rank : int.MaxValue;

    /// <summary>Negative when <paramref name="x"/> wins over <paramref name="y"/>.</summary>
    public int Compare(SourceRecord? x, SourceRecord? y)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(y);
        var order = Rank(x.Kind).CompareTo(Rank(y.Kind));
        if (order != 0)
        {
            return order;
        }

        foreach (var (a, b) in new[]
                 {
                     (x.Name, y.Name), (x.Manufacturer, y.Manufacturer), (x.Model, y.Model),
                     (x.HardwareVersion, y.HardwareVersion), (x.SoftwareVersion, y.SoftwareVersion), (x.AppId, y.AppId),
                 })
        {
            order = string.CompareOrdinal(a, b);
            if (order != 0)
            {
                return order;
            }
        }

        return 0;
    }
}
