using System.Collections.Concurrent;
using System.Threading.Channels;
using Grpc.Health.V1;

namespace HealthGrpc.Rpc;

/// <summary>Serving status reported by grpc.health.v1.Health.</summary>
public enum HealthServingStatus
{
    Unknown = 0,
    Serving = 1,
    NotServing = 2,
}

/// <summary>
/// The per-service health statuses served by grpc.health.v1.Health. The overall server status is the empty service
/// name "" (Serving by default). Registered as a singleton by AddRpc; the host sets statuses.
/// </summary>
public sealed class HealthStatusService
{
    private readonly ConcurrentDictionary<string, HealthServingStatus> _statuses = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();
    private readonly List<(string Service, ChannelWriter<HealthServingStatus?> Writer)> _watchers = [];

    public HealthStatusService()
    {
        _statuses[string.Empty] = HealthServingStatus.Serving;
    }

    public void SetStatus(string service, HealthServingStatus status)
    {
        ArgumentNullException.ThrowIfNull(service);
        _statuses[service] = status;
        Notify(service, status);
    }

    public void ClearStatus(string service)
    {
        ArgumentNullException.ThrowIfNull(service);
        _statuses.TryRemove(service, out _);
        Notify(service, null);
    }

    /// <summary>Sets every known service (including "") to NotServing, e.g. when shutting down.</summary>
    public void SetAllNotServing()
    {
        foreach (var key in _statuses.Keys)
        {
            SetStatus(key, HealthServingStatus.NotServing);
        }
    }

    public HealthServingStatus? GetStatus(string service) =>
        _statuses.TryGetValue(service ?? string.Empty, out var s) ? s : null;

    internal ChannelReader<HealthServingStatus?> Watch(string service, CancellationToken cancellationToken)
    {
        var channel = Channel.CreateUnbounded<HealthServingStatus?>(new UnboundedChannelOptions { SingleReader = true });
        var entry = (service, channel.Writer);
        lock (_lock)
        {
            _watchers.Add(entry);
        }

        cancellationToken.Register(() =>
        {
            lock (_lock)
            {
                _watchers.Remove(entry);
            }

            channel.Writer.TryComplete();
        });
        return channel.Reader;
    }

    private void Notify(string service, HealthServingStatus? status)
    {
        lock (_lock)
        {
            foreach (var (s, writer) in _watchers)
            {
                if (s == service)
                {
                    writer.TryWrite(status);
                }
            }
        }
    }
}

/// <summary>grpc.health.v1.Health over <see cref="HealthStatusService"/>.</summary>
internal sealed class HealthService(HealthStatusService statuses)
{
#pragma warning disable IDE0060 // The binder requires the (request, context) signature.
    public Task<HealthCheckResponse> Check(HealthCheckRequest request, ServerCallContext context)
#pragma warning restore IDE0060
    {
        var status = statuses.GetStatus(request.Service)
            ?? throw new RpcException(StatusCode.NotFound, $"Unknown service '{request.Service}'.");
        return Task.FromResult(new HealthCheckResponse { Status = ToWire(status) });
    }

    public async Task Watch(HealthCheckRequest request, IServerStreamWriter<HealthCheckResponse> responses, ServerCallContext context)
    {
        var updates = statuses.Watch(request.Service, context.CancellationToken);
        var current = ToWire(statuses.GetStatus(request.Service));
        await responses.WriteAsync(new HealthCheckResponse { Status = current });
        await foreach (var update in updates.ReadAllAsync(context.CancellationToken))
        {
            var next = ToWire(update);
            if (next != current)
            {
                current = next;
                await responses.WriteAsync(new HealthCheckResponse { Status = next });
            }
        }

        context.CancellationToken.ThrowIfCancellationRequested();
    }

    private static HealthCheckResponse.Types.ServingStatus ToWire(HealthServingStatus? status) => status switch
    {
        null => HealthCheckResponse.Types.ServingStatus.ServiceUnknown,
        HealthServingStatus.Serving => HealthCheckResponse.Types.ServingStatus.Serving,
        HealthServingStatus.NotServing => HealthCheckResponse.Types.ServingStatus.NotServing,
        _ => HealthCheckResponse.Types.ServingStatus.Unknown,
    };
}
