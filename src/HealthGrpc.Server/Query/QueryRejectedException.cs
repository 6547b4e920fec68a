using HealthGrpc.Contracts.V1;

namespace HealthGrpc.Server.Query;

/// <summary>
/// A query the server refuses: a bad argument (<see cref="Field"/> names it, <see cref="Reason"/> unspecified) or
/// another user's data without a grant (<see cref="ErrorReason.NoGrant"/>). <see cref="Services.StatusMapper"/> alone
/// decides the status code and trailers.
/// </summary>
internal sealed class QueryRejectedException(string field, string message, ErrorReason reason = ErrorReason.Unspecified)
    : Exception(message)
{
    /// <summary>The request field at fault, as named in query.proto (<c>time_zone</c>, <c>types[1]</c>).</summary>
    public string Field { get; } = field;

    public ErrorReason Reason { get; } = reason;

    public static QueryRejectedException Invalid(string field, string problem) => new(field, $"{field} {problem}");
}
