namespace HealthGrpc.Rpc;

/// <summary>
/// A call ended with a non-OK status. Thrown by the client for any non-OK status; thrown by a service
/// handler to answer with exactly this status, detail and trailers.
/// </summary>
public sealed class RpcException : Exception
{
    public RpcException(StatusCode code, string detail, Metadata? trailers = null)
        : this(code, detail, trailers, null)
    {
    }

    public RpcException(StatusCode code, string detail, Metadata? trailers, Exception? innerException)
        : base($"Status(StatusCode=\"{code}\", Detail=\"{detail}\")", innerException)
    {
        StatusCode = code;
        Detail = detail ?? string.Empty;
        Trailers = trailers ?? new Metadata();
    }

    public RpcException(RpcStatus status, Metadata? trailers = null)
        : this(status.Code, status.Detail, trailers)
    {
    }

    public StatusCode StatusCode { get; }

    public string Detail { get; }

    public Metadata Trailers { get; }

    public RpcStatus Status => new(StatusCode, Detail);
}
