using Grpc.Reflection;
using HealthGrpc.Contracts.V1;

namespace HealthGrpc.Server.Services;

/// <summary>
/// Server reflection over the mapped services AND the types their statuses carry. grpc-dotnet's default registry holds
/// only the files of mapped services and their imports; <see cref="ErrorDetail"/> travels packed in an Any inside
/// google.rpc.Status, so no service file imports it, and generic tools (buf curl, grpcurl) could not decode it.
/// </summary>
internal static class ContractReflection
{
    /// <summary>Reflection over <paramref name="contractServices"/> (the contract's services this host maps), health and reflection itself.</summary>
    public static IServiceCollection AddContractReflection(this IServiceCollection services, IEnumerable<Google.Protobuf.Reflection.ServiceDescriptor> contractServices)
    {
        Google.Protobuf.Reflection.ServiceDescriptor[] mapped =
        [
            .. contractServices,
            Grpc.Health.V1.Health.Descriptor,
            Grpc.Reflection.V1Alpha.ServerReflection.Descriptor,
            Grpc.Reflection.V1.ServerReflection.Descriptor,
        ];
        var names = mapped.Select(service => service.FullName).ToArray();
        var registry = SymbolRegistry.FromFiles(mapped.Select(service => service.File)
            .Append(ErrorsReflection.Descriptor)
            .Append(Google.Rpc.StatusReflection.Descriptor));

        // Registered before AddGrpcReflection, whose TryAdd then keeps these instances.
        services.AddSingleton(new ReflectionServiceImpl(names, registry));
        services.AddSingleton(new ReflectionV1ServiceImpl(names, registry));
        return services.AddGrpcReflection();
    }
}
