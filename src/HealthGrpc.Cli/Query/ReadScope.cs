using HealthGrpc.Contracts.V1;
using NodaTime;

namespace HealthGrpc.Cli.Query;

/// <summary>What a read verb asks for, checked: whose data, which types and sources, which range, shown in which zone.</summary>
internal sealed record ReadScope(
    Uri Server,
    string Token,
    string Owner,
    IReadOnlyList<DataType> Types,
    IReadOnlyList<DeviceKind> Sources,
    Instant From,
    Instant To,
    DateTimeZone Zone);
