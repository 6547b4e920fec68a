using System.Collections.Concurrent;
using System.Net;
using Google.Protobuf;
using Grpc.Core;
using HealthGrpc.Contracts.V1;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace HealthGrpc.Client.Tests.Infrastructure;

/// <summary>
/// A Sync server on real Kestrel (loopback, port 0) whose answer to each batch is scripted: the script sees the batch and
/// how many times a batch with the same first uuid arrived, and returns a status to end the call with, or null to commit
/// it. Records every stored uuid (to prove exactly-once) and every batch_seq gap (to prove the numbering stays contiguous).
/// </summary>
internal sealed class ScriptedSyncServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private ScriptedSyncServer(WebApplication app, ScriptedState state, Uri address)
    {
        _app = app;
        State = state;
        Address = address;
    }

    public ScriptedState State { get; }

    public Uri Address { get; }

    public static async Task<ScriptedSyncServer> StartAsync(Func<Batch, int, StatusCode?> script)
    {
        var state = new ScriptedState(script);
        var builder = WebApplication.CreateBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, o => o.Protocols = HttpProtocols.Http2));
        builder.Services.AddGrpc();
        builder.Services.AddSingleton(state);
        var app = builder.Build();
        app.MapGrpcService<ScriptedSyncService>();
        await app.StartAsync().WaitAsync(TestServer.StartTimeout);
        var address = app.Urls.First();
        return new ScriptedSyncServer(app, state, new Uri(address));
    }

    /// <summary>True when a sample of <paramref name="batch"/> has the scaled value <paramref name="marker"/>.</summary>
    public static bool Carries(Batch batch, long marker) => batch.SampleSets.Any(s => s.Samples.Any(x => x.ScaledValue == marker));

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().WaitAsync(TimeSpan.FromSeconds(30));
        await _app.DisposeAsync();
    }
}

internal sealed class ScriptedState(Func<Batch, int, StatusCode?> script)
{
    private readonly ConcurrentDictionary<ByteString, int> _attempts = new();
    private readonly ConcurrentDictionary<ByteString, int> _stored = new();
    private readonly Lock _lock = new();

    public ulong HighWaterMark { get; private set; }

    public int Gaps { get; private set; }

    /// <summary>How many times each uuid was stored: every value must be 1.</summary>
    public IReadOnlyDictionary<ByteString, int> Stored => _stored;

    /// <summary>Attempts of the batch whose first sample has <paramref name="uuid"/>.</summary>
    public int AttemptsOf(ByteString uuid) => _attempts.GetValueOrDefault(uuid);

    public Ack Handle(Batch batch)
    {
        var first = batch.SampleSets.SelectMany(s => s.Samples).Select(s => s.Uuid).FirstOrDefault() ?? ByteString.Empty;
        var attempt = _attempts.AddOrUpdate(first, 1, (_, n) => n + 1);
        if (script(batch, attempt) is { } code)
        {
            throw new RpcException(new Status(code, $"scripted {code} (attempt {attempt})"));
        }

        lock (_lock)
        {
            if (batch.BatchSeq <= HighWaterMark)
            {
                return new Ack { BatchSeq = batch.BatchSeq, Outcome = AckOutcome.Duplicate, HighWaterMark = HighWaterMark };
            }

            if (batch.BatchSeq != HighWaterMark + 1)
            {
                Gaps++;
            }

            HighWaterMark = batch.BatchSeq;
            uint accepted = 0;
            foreach (var sample in batch.SampleSets.SelectMany(s => s.Samples))
            {
                _stored.AddOrUpdate(sample.Uuid, 1, (_, n) => n + 1);
                accepted++;
            }

            var ack = new Ack { BatchSeq = batch.BatchSeq, Outcome = AckOutcome.Committed, Accepted = accepted, HighWaterMark = HighWaterMark };
            ack.CommittedAnchors.Add(batch.Anchors);
            return ack;
        }
    }
}

internal sealed class ScriptedSyncService(ScriptedState state) : SyncService.SyncServiceBase
{
    public override async Task Sync(IAsyncStreamReader<SyncRequest> requestStream, IServerStreamWriter<SyncResponse> responseStream, ServerCallContext context)
    {
        if (!await requestStream.MoveNext(context.CancellationToken) || requestStream.Current.KindCase != SyncRequest.KindOneofCase.Hello)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "Hello first"));
        }

        await responseStream.WriteAsync(new SyncResponse { Welcome = new Welcome { HighWaterMark = state.HighWaterMark } });
        while (await requestStream.MoveNext(context.CancellationToken))
        {
            await responseStream.WriteAsync(new SyncResponse { Ack = state.Handle(requestStream.Current.Batch) });
        }
    }

    public override Task<GetCheckpointResponse> GetCheckpoint(GetCheckpointRequest request, ServerCallContext context) =>
        throw new RpcException(new Status(StatusCode.NotFound, "a new device"));
}
