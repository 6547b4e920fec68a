using Google.Protobuf.WellKnownTypes;
using HealthGrpc.Contracts;
using HealthGrpc.Contracts.V1;
using HealthGrpc.Storage;

namespace HealthGrpc.Server;

/// <summary>Stored domain items as the wire messages of stored.proto, shared by the change feed and the range reads.</summary>
internal static class StoredItemWire
{
    public static StoredSample ToWire(SampleRecord sample, string deviceId)
    {
        var wire = new StoredSample
        {
            Uuid = SampleUuid.ToByteString(sample.Uuid),
            Type = (DataType)sample.Type,
            VendorType = sample.VendorType ?? string.Empty,
            StartTime = Time(sample.StartUnixMs),
            EndTime = Time(sample.EndUnixMs),
            Unit = sample.Unit,
            Source = ToWire(sample.Source),
            SyncIdentifier = sample.SyncIdentifier ?? string.Empty,
            SyncVersion = sample.SyncVersion,
            DeviceId = deviceId,
        };
        if (sample.ZoneOffsetMinutes is { } zone)
        {
            wire.ZoneOffsetMinutes = zone;
        }

        if (sample.Quantity is { } quantity)
        {
            wire.Quantity = quantity;
        }
        else if (sample.Category is { } category)
        {
            wire.Category = category;
        }

        foreach (var (key, value) in sample.Metadata ?? System.Collections.Frozen.FrozenDictionary<string, string>.Empty)
        {
            wire.Metadata[key] = value;
        }

        return wire;
    }

    public static Source ToWire(SourceRecord source) => new()
    {
        Kind = (DeviceKind)source.Kind,
        Name = source.Name,
        Manufacturer = source.Manufacturer,
        Model = source.Model,
        HardwareVersion = source.HardwareVersion,
        SoftwareVersion = source.SoftwareVersion,
        AppId = source.AppId,
    };

    public static Timestamp Time(long unixMs) => new() { Seconds = Math.DivRem(unixMs, 1000, out var ms) - (ms < 0 ? 1 : 0), Nanos = (int)((ms + 1000) % 1000) * 1_000_000 };
}
