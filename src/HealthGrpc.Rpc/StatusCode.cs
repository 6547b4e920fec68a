namespace HealthGrpc.Rpc;

/// <summary>The gRPC status codes (numeric values are the wire values of <c>grpc-status</c>).</summary>
public enum StatusCode
{
    OK = 0,
    Cancelled = 1,
    Unknown = 2,
    InvalidArgument = 3,
    DeadlineExceeded = 4,
    NotFound = 5,
    AlreadyExists = 6,
    PermissionDenied = 7,
    ResourceExhausted = 8,
    FailedPrecondition = 9,
    Aborted = 10,
    OutOfRange = 11,
    Unimplemented = 12,
    Internal = 13,
    Unavailable = 14,
    DataLoss = 15,
    Unauthenticated = 16,
}

/// <summary>A gRPC status: code plus human-readable detail (sent percent-encoded as <c>grpc-message</c>).</summary>
public readonly record struct RpcStatus(StatusCode Code, string Detail)
{
    public static RpcStatus Ok { get; } = new(StatusCode.OK, string.Empty);

    public override string ToString() => $"Status(StatusCode=\"{Code}\", Detail=\"{Detail}\")";
}

/// <summary>The kind of RPC, derived from the streaming flags of the protobuf method.</summary>
public enum MethodType
{
    Unary,
    ClientStreaming,
    ServerStreaming,
    DuplexStreaming,
}
