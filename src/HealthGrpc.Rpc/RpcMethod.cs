using Google.Protobuf;
using Google.Protobuf.Reflection;

namespace HealthGrpc.Rpc;

/// <summary>A typed gRPC method: path, call type and message parsers.</summary>
public sealed class RpcMethod<TRequest, TResponse>
    where TRequest : IMessage<TRequest>
    where TResponse : IMessage<TResponse>
{
    public RpcMethod(string serviceFullName, string methodName, MethodType type)
    {
        ArgumentException.ThrowIfNullOrEmpty(serviceFullName);
        ArgumentException.ThrowIfNullOrEmpty(methodName);
        ServiceName = serviceFullName;
        Name = methodName;
        FullName = "/" + serviceFullName + "/" + methodName;
        Type = type;
        RequestParser = MessageParsers.Get<TRequest>();
        ResponseParser = MessageParsers.Get<TResponse>();
    }

    /// <summary>The HTTP/2 path, e.g. <c>/pkg.Service/Method</c>.</summary>
    public string FullName { get; }

    public string ServiceName { get; }

    public string Name { get; }

    public MethodType Type { get; }

    public MessageParser<TRequest> RequestParser { get; }

    public MessageParser<TResponse> ResponseParser { get; }

    /// <summary>Builds the method from its protobuf descriptor, checking the CLR message types match.</summary>
#pragma warning disable CA1000 // The factory belongs with the type it builds.
    public static RpcMethod<TRequest, TResponse> From(MethodDescriptor descriptor)
    {
        ArgumentNullException.ThrowIfNull(descriptor);
        if (descriptor.InputType.ClrType != typeof(TRequest))
        {
            throw new ArgumentException(
                $"Method {descriptor.FullName} takes {descriptor.InputType.FullName} ({descriptor.InputType.ClrType}), not {typeof(TRequest)}.",
                nameof(descriptor));
        }

        if (descriptor.OutputType.ClrType != typeof(TResponse))
        {
            throw new ArgumentException(
                $"Method {descriptor.FullName} returns {descriptor.OutputType.FullName} ({descriptor.OutputType.ClrType}), not {typeof(TResponse)}.",
                nameof(descriptor));
        }

        return new RpcMethod<TRequest, TResponse>(descriptor.Service.FullName, descriptor.Name, MethodTypes.Of(descriptor));
    }
#pragma warning restore CA1000

    public override string ToString() => FullName;
}

internal static class MethodTypes
{
    public static MethodType Of(MethodDescriptor d) => (d.IsClientStreaming, d.IsServerStreaming) switch
    {
        (false, false) => MethodType.Unary,
        (true, false) => MethodType.ClientStreaming,
        (false, true) => MethodType.ServerStreaming,
        _ => MethodType.DuplexStreaming,
    };
}

internal static class MessageParsers
{
    public static MessageParser<T> Get<T>()
        where T : IMessage<T>
    {
        var prop = typeof(T).GetProperty("Parser", System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Static)
            ?? throw new InvalidOperationException($"{typeof(T)} has no static Parser property (is it a protoc-generated message?).");
        return (MessageParser<T>)(prop.GetValue(null) ?? throw new InvalidOperationException($"{typeof(T)}.Parser is null."));
    }
}
