using HealthGrpc.Contracts.V1;
using HealthGrpc.Storage;

namespace HealthGrpc.Server.Query;

/// <summary>Stored items as the wire messages of query.proto. Series and waveform payloads are stored as their canonical protobuf bytes.</summary>
internal static class SampleWire
{
    /// <summary>Adds the page's items to the response, each to its list, keeping the page order within each list.</summary>
    public static void AddTo(ReadSamplesResponse response, IReadOnlyList<SampleReadItem> items)
    {
        foreach (var item in items)
        {
            switch (item.Position.Kind)
            {
                case SampleItemKind.Sample:
                    response.Samples.Add(StoredItemWire.ToWire(item.Sample!, item.DeviceId));
                    break;
                case SampleItemKind.Series:
                    response.Series.Add(Series.Parser.ParseFrom(item.Series!.Payload));
                    break;
                default:
                    response.Waveforms.Add(Waveform.Parser.ParseFrom(item.Waveform!.Payload));
                    break;
            }
        }
    }
}
