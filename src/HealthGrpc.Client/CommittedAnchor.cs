using Google.Protobuf;
using HealthGrpc.Contracts.V1;

namespace HealthGrpc.Client;

/// <summary>The committed anchor of one data type.</summary>
/// <param name="Type">The data type.</param>
/// <param name="VendorType">The vendor type (DATA_TYPE_VENDOR only).</param>
/// <param name="Anchor">The committed opaque anchor.</param>
/// <param name="CommittedAt">When it was committed locally.</param>
public sealed record CommittedAnchor(DataType Type, string VendorType, ByteString Anchor, DateTimeOffset CommittedAt);
