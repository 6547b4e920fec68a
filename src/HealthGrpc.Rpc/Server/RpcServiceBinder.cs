using System.Reflection;
using Google.Protobuf.Reflection;

namespace HealthGrpc.Rpc.Server;

/// <summary>Binds the methods of a protobuf service descriptor to same-named methods of a plain C# class.</summary>
internal static class RpcServiceBinder
{
    public static List<IServerMethodHandler> Bind(Type serviceType, ServiceDescriptor descriptor)
    {
        var handlers = new List<IServerMethodHandler>();
        var errors = new List<string>();
        foreach (var method in descriptor.Methods)
        {
            var type = MethodTypes.Of(method);
            var req = method.InputType.ClrType;
            var resp = method.OutputType.ClrType;
            if (req is null || resp is null)
            {
                errors.Add($"{method.FullName}: message types have no generated C# class.");
                continue;
            }

            var (delegateType, expected) = Signature(serviceType, type, req, resp, method.Name);
            var candidates = serviceType.GetMethods(BindingFlags.Public | BindingFlags.Instance)
                .Where(m => m.Name == method.Name)
                .ToList();
            var invokeParams = delegateType.GetMethod("Invoke")!.GetParameters().Skip(1).Select(p => p.ParameterType).ToArray();
            var returnType = delegateType.GetMethod("Invoke")!.ReturnType;
            var match = candidates.FirstOrDefault(m =>
                m.ReturnType == returnType
                && !m.IsGenericMethodDefinition
                && m.GetParameters().Select(p => p.ParameterType).SequenceEqual(invokeParams));
            if (match is null)
            {
                errors.Add(candidates.Count == 0
                    ? $"{method.FullName} ({type}): {serviceType.Name} has no public method '{method.Name}'. Expected: {expected}"
                    : $"{method.FullName} ({type}): {serviceType.Name}.{method.Name} has the wrong signature. Expected: {expected}");
                continue;
            }

            var invoker = Delegate.CreateDelegate(delegateType, null, match);
            var handlerType = typeof(ServerMethodHandler<,,>).MakeGenericType(serviceType, req, resp);
            var path = "/" + descriptor.FullName + "/" + method.Name;
            handlers.Add((IServerMethodHandler)Activator.CreateInstance(handlerType, path, type, invoker)!);
        }

        if (errors.Count > 0)
        {
            throw new InvalidOperationException(
                $"Cannot bind {serviceType.FullName} to gRPC service {descriptor.FullName}:{Environment.NewLine}  " + string.Join(Environment.NewLine + "  ", errors));
        }

        return handlers;
    }

    private static (Type DelegateType, string Expected) Signature(Type service, MethodType type, Type req, Type resp, string name)
    {
        var task = typeof(Task);
        var taskOfResp = typeof(Task<>).MakeGenericType(resp);
        var stream = typeof(IAsyncEnumerable<>).MakeGenericType(req);
        var writer = typeof(IServerStreamWriter<>).MakeGenericType(resp);
        var ctx = typeof(ServerCallContext);
        return type switch
        {
            MethodType.Unary => (
                typeof(Func<,,,>).MakeGenericType(service, req, ctx, taskOfResp),
                $"public Task<{resp.Name}> {name}({req.Name} request, ServerCallContext context)"),
            MethodType.ClientStreaming => (
                typeof(Func<,,,>).MakeGenericType(service, stream, ctx, taskOfResp),
                $"public Task<{resp.Name}> {name}(IAsyncEnumerable<{req.Name}> requests, ServerCallContext context)"),
            MethodType.ServerStreaming => (
                typeof(Func<,,,,>).MakeGenericType(service, req, writer, ctx, task),
                $"public Task {name}({req.Name} request, IServerStreamWriter<{resp.Name}> responses, ServerCallContext context)"),
            _ => (
                typeof(Func<,,,,>).MakeGenericType(service, stream, writer, ctx, task),
                $"public Task {name}(IAsyncEnumerable<{req.Name}> requests, IServerStreamWriter<{resp.Name}> responses, ServerCallContext context)"),
        };
    }
}

/// <summary>Services mapped with MapRpcService (what reflection lists and the catch-all consults).</summary>
internal sealed class RpcServiceRegistry
{
    private readonly Lock _lock = new();
    private readonly List<ServiceDescriptor> _services = [];

    public bool CatchAllMapped { get; set; }

    public IReadOnlyList<ServiceDescriptor> Services
    {
        get
        {
            lock (_lock)
            {
                return [.. _services];
            }
        }
    }

    public bool Add(ServiceDescriptor service)
    {
        lock (_lock)
        {
            if (_services.Any(s => s.FullName == service.FullName))
            {
                return false;
            }

            _services.Add(service);
            return true;
        }
    }

    public bool Contains(string serviceFullName)
    {
        lock (_lock)
        {
            return _services.Any(s => s.FullName == serviceFullName);
        }
    }
}
