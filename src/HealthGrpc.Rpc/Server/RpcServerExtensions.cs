using HealthGrpc.Rpc.Internal;
using HealthGrpc.Rpc.Server;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using ProtoServiceDescriptor = Google.Protobuf.Reflection.ServiceDescriptor;

namespace HealthGrpc.Rpc;

/// <summary>DI and endpoint registration of gRPC services.</summary>
public static class RpcServerExtensions
{
    /// <summary>Registers the RPC server: options, the health status store and the service registry.</summary>
    public static IServiceCollection AddRpc(this IServiceCollection services, Action<RpcServerOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = new RpcServerOptions();
        configure?.Invoke(options);
        services.TryAddSingleton(options);
        services.TryAddSingleton<HealthStatusService>();
        services.TryAddSingleton<RpcServiceRegistry>();
        services.AddRouting();
        return services;
    }

    /// <summary>
    /// Maps every method of <paramref name="descriptor"/> to the same-named method of <typeparamref name="TService"/>
    /// (POST /package.Service/Method). The service instance comes from DI when registered (any lifetime), otherwise it is
    /// created per call with ActivatorUtilities. Also maps the catch-all that answers unknown gRPC paths with UNIMPLEMENTED.
    /// Throws at startup if a method is missing or has the wrong signature.
    /// </summary>
    public static IEndpointConventionBuilder MapRpcService<TService>(this IEndpointRouteBuilder endpoints, ProtoServiceDescriptor descriptor)
        where TService : class
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentNullException.ThrowIfNull(descriptor);
        var registry = endpoints.ServiceProvider.GetService<RpcServiceRegistry>()
            ?? throw new InvalidOperationException("Call services.AddRpc() before MapRpcService.");
        var handlers = RpcServiceBinder.Bind(typeof(TService), descriptor);
        if (!registry.Add(descriptor))
        {
            throw new InvalidOperationException($"gRPC service {descriptor.FullName} is already mapped.");
        }

        var builders = new List<IEndpointConventionBuilder>();
        foreach (var handler in handlers)
        {
            var h = handler;
            builders.Add(endpoints.MapPost(h.Path, h.HandleAsync).WithDisplayName("gRPC " + h.Path));
        }

        MapUnimplementedCatchAll(endpoints, registry);
        return new CompositeConventionBuilder(builders);
    }

    /// <summary>
    /// Maps grpc.health.v1.Health (backed by the <see cref="HealthStatusService"/> singleton) and server reflection
    /// (grpc.reflection.v1 and v1alpha ServerReflection), which lists every service mapped with MapRpcService.
    /// </summary>
    public static IEndpointConventionBuilder MapRpcHealthAndReflection(this IEndpointRouteBuilder endpoints)
    {
        var health = endpoints.MapRpcHealth();
        var reflection = endpoints.MapRpcReflection();
        return new CompositeConventionBuilder([health, reflection]);
    }

    /// <summary>Maps grpc.health.v1.Health only.</summary>
    public static IEndpointConventionBuilder MapRpcHealth(this IEndpointRouteBuilder endpoints) =>
        endpoints.MapRpcService<HealthService>(Grpc.Health.V1.HealthReflection.Descriptor.Services[0]);

    /// <summary>Maps grpc.reflection.v1.ServerReflection and grpc.reflection.v1alpha.ServerReflection.</summary>
    public static IEndpointConventionBuilder MapRpcReflection(this IEndpointRouteBuilder endpoints)
    {
        var v1 = endpoints.MapRpcService<ReflectionServiceV1>(Grpc.Reflection.V1.ReflectionReflection.Descriptor.Services[0]);
        var v1Alpha = endpoints.MapRpcService<ReflectionServiceV1Alpha>(Grpc.Reflection.V1Alpha.ReflectionReflection.Descriptor.Services[0]);
        return new CompositeConventionBuilder([v1, v1Alpha]);
    }

    private static void MapUnimplementedCatchAll(IEndpointRouteBuilder endpoints, RpcServiceRegistry registry)
    {
        if (registry.CatchAllMapped)
        {
            return;
        }

        registry.CatchAllMapped = true;
        endpoints.MapPost("/{**rpcUnimplementedPath}", (HttpContext http) =>
        {
            if (!GrpcProtocol.IsGrpcContentType(http.Request.ContentType))
            {
                http.Response.StatusCode = StatusCodes.Status404NotFound;
                return Task.CompletedTask;
            }

            var path = http.Request.Path.Value ?? string.Empty;
            var slash = path.LastIndexOf('/');
            var service = slash > 0 ? path[1..slash] : string.Empty;
            var detail = registry.Contains(service)
                ? $"Method is unimplemented: {path}"
                : $"Service is unimplemented: {service}";
            HttpServerCallContext.WriteTrailersOnly(http, new RpcStatus(StatusCode.Unimplemented, detail));
            return Task.CompletedTask;
        })
        .WithDisplayName("gRPC unimplemented")
        .Add(b =>
        {
            if (b is RouteEndpointBuilder r)
            {
                r.Order = int.MaxValue;
            }
        });
    }

    private sealed class CompositeConventionBuilder(IReadOnlyList<IEndpointConventionBuilder> builders) : IEndpointConventionBuilder
    {
        public void Add(Action<EndpointBuilder> convention)
        {
            foreach (var b in builders)
            {
                b.Add(convention);
            }
        }

        public void Finally(Action<EndpointBuilder> finallyConvention)
        {
            foreach (var b in builders)
            {
                b.Finally(finallyConvention);
            }
        }
    }
}
