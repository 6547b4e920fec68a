namespace HealthGrpc.Server.Query;

/// <summary>
/// A request the server refuses for a bad argument (<see cref="Field"/> names it): INVALID_ARGUMENT with a
/// google.rpc.BadRequest field violation. Used by the query RPCs and SharingService. A read no grant covers is a
/// <see cref="Sharing.GrantDeniedException"/> instead. <see cref="Services.StatusMapper"/> alone decides the status code
/// and trailers.
/// </summary>
internal sealed class QueryRejectedException(string field, string message) : Exception(message)
{
    /// <summary>The request field at fault, as named in the .proto (<c>time_zone</c>, <c>types[1]</c>).</summary>
    public string Field { get; } = field;

    public static QueryRejectedException Invalid(string field, string problem) => new(field, $"{field} {problem}");
}
