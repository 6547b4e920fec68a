using HealthGrpc.Contracts.V1;

namespace HealthGrpc.Server.Ingest;

/// <summary>Why one item is invalid. Returned, not thrown: a batch of 10,000 bad samples must stay cheap to answer.</summary>
internal readonly record struct Problem(RejectReason Reason, string Message);

/// <summary>One invalid item of a batch, positioned as the Ack reports it.</summary>
internal readonly record struct ItemRejection(ItemKind Kind, int Index, Problem Problem);
