using HealthGrpc.Contracts.V1;
using Grpc.Core;

namespace HealthGrpc.Server.Tests;

/// <summary>A Sync call driven by a test: Hello, then batches written and acks read back.</summary>
internal sealed class SyncStream : IDisposable
{
    private readonly AsyncDuplexStreamingCall<SyncRequest, SyncResponse> _call;
    private readonly IAsyncEnumerator<SyncResponse> _responses;

    private SyncStream(AsyncDuplexStreamingCall<SyncRequest, SyncResponse> call)
    {
        _call = call;
        _responses = call.ResponseStream.ReadAllAsync().GetAsyncEnumerator();
    }

    public static async Task<(SyncStream Stream, Welcome Welcome)> OpenAsync(SyncService.SyncServiceClient client, string token, DeviceIdentity device)
    {
        var stream = new SyncStream(client.Sync(SyncApi.As(token)));
        await stream.WriteAsync(new SyncRequest { Hello = new Hello { Device = device, SdkVersion = "tests/1.0" } });
        var first = await stream.ReadAsync();
        return (stream, first?.Welcome ?? throw new Xunit.Sdk.XunitException("the server sent no Welcome"));
    }

    public Task WriteAsync(SyncRequest request) => _call.RequestStream.WriteAsync(request).Bounded();

    public Task SendAsync(Batch batch) => WriteAsync(new SyncRequest { Batch = batch });

    public Task CompleteAsync() => _call.RequestStream.CompleteAsync().Bounded();

    /// <summary>The next response, or null when the server ended the call with OK.</summary>
    public async Task<SyncResponse?> ReadAsync() => await _responses.MoveNextAsync().AsTask().Bounded() ? _responses.Current : null;

    public async Task<Ack> ReadAckAsync() =>
        (await ReadAsync())?.Ack ?? throw new Xunit.Sdk.XunitException("the stream ended before the expected ack");

    public void Dispose() => _call.Dispose();
}
