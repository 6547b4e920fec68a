using Grpc.Core;
using HealthGrpc.Contracts.V1;
using Microsoft.Extensions.Logging;
using static HealthGrpc.Server.Tests.Batches;

namespace HealthGrpc.Server.Tests;

/// <summary>ChangeFeedService.Subscribe over real Kestrel and SQLite: catch-up, the switch to live, heartbeats, back-pressure, cancel.</summary>
public sealed class ChangeFeedSubscribeTests : ServerTest
{
    private static AsyncServerStreamingCall<SubscribeResponse> Subscribe(TestServer server, string token, string sinceToken = "", CancellationToken ct = default) =>
        ChangeFeedApi.Client(server).Subscribe(
            new SubscribeRequest { SinceToken = sinceToken },
            new CallOptions(SyncApi.As(token).Headers, DateTime.UtcNow.Add(TestTimeouts.Default), ct));

    private static async Task<SubscribeResponse> NextAsync(AsyncServerStreamingCall<SubscribeResponse> call) =>
        await call.ResponseStream.MoveNext(CancellationToken.None).Bounded()
            ? call.ResponseStream.Current
            : throw new Xunit.Sdk.XunitException("the Subscribe stream ended");

    [Fact]
    public async Task Under_concurrent_ingest_every_change_arrives_exactly_once_in_order_across_the_switch_to_live()
    {
        var workload = new ChangeFeedWorkload(samplesPerBatch: 25);
        var subscribeAfterBatch = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var devices = new[] { "watch-1", "phone-1", "ring-1" }
            .Select(device => workload.IngestAsync(Server, Token, device, batches: 40, afterBatch: batch =>
            {
                if (batch == 10)
                {
                    subscribeAfterBatch.TrySetResult(); // a backlog exists, and ingest goes on through the catch-up
                }

                return Task.CompletedTask;
            }))
            .ToArray();
        await subscribeAfterBatch.Task.Bounded();

        using var call = Subscribe(Server, Token);
        var delivered = new List<Change>();
        var caughtUp = 0;
        var ingest = Task.WhenAll(devices);
        long? finalSequence = null;
        while (finalSequence is null || delivered.Count == 0 || (long)delivered[^1].Sequence < finalSequence)
        {
            var message = await NextAsync(call);
            switch (message.KindCase)
            {
                case SubscribeResponse.KindOneofCase.Change:
                    if (delivered.Count > 0 && message.Change.Sequence <= delivered[^1].Sequence)
                    {
                        throw new Xunit.Sdk.XunitException($"change {message.Change.Sequence} delivered after {delivered[^1].Sequence}");
                    }

                    Assert.Equal(ChangeFeedApi.TokenAt((long)message.Change.Sequence), message.Token);
                    delivered.Add(message.Change);
                    break;
                case SubscribeResponse.KindOneofCase.CaughtUp:
                    caughtUp++;
                    Assert.Equal(ChangeFeedApi.TokenAt(delivered.Count == 0 ? 0 : (long)delivered[^1].Sequence), message.Token);
                    break;
            }

            if (finalSequence is null && ingest.IsCompleted)
            {
                await ingest;
                finalSequence = await Server.Store.GetChangeSequenceAsync("alice", CancellationToken.None).Bounded();
            }
        }

        Assert.Equal(1, caughtUp);
        var mirror = new MirroredState();
        delivered.ForEach(mirror.Apply);
        workload.Expected.AssertEqual(mirror);
        // Everything still in the feed was delivered (a sample deleted before the subscriber read it is compacted away).
        var (feed, _, _) = await ChangeFeedApi.ReadAllAsync(Server, Token, pageSize: 0);
        Assert.Empty(feed.Select(change => change.Sequence).Except(delivered.Select(change => change.Sequence)));
    }

    [Fact]
    public async Task A_commit_wakes_the_subscription_through_the_stores_notification_not_a_poll()
    {
        // No heartbeat (and so no periodic re-read) within the test's timeouts: only the commit notification can deliver.
        await using var server = await TestServer.StartAsync(null, "--ChangeFeed:HeartbeatInterval", "01:00:00");
        var token = await server.CreateUserAsync("carol");
        using var call = Subscribe(server, token);
        Assert.Equal(SubscribeResponse.KindOneofCase.CaughtUp, (await NextAsync(call)).KindCase);

        for (var b = 1ul; b <= 3; b++)
        {
            await server.Client.UploadAsync(Upload(HeartRate(b, NewUuids(2))), SyncApi.As(token)).Bounded();
            Assert.Equal((2 * b) - 1, (await NextAsync(call)).Change.Sequence);
            Assert.Equal(2 * b, (await NextAsync(call)).Change.Sequence);
        }
    }

    [Fact]
    public async Task Resuming_from_a_messages_token_continues_with_the_next_change()
    {
        await new ChangeFeedWorkload(10).IngestAsync(Server, Token, "watch-1", 2);
        string resumeToken;
        using (var first = Subscribe(Server, Token))
        {
            await NextAsync(first);
            resumeToken = (await NextAsync(first)).Token;
        }

        using var resumed = Subscribe(Server, Token, resumeToken);
        var next = await NextAsync(resumed);

        Assert.Equal(ChangeFeedApi.TokenAt(2), resumeToken);
        Assert.Equal(3ul, next.Change.Sequence);
    }

    [Fact]
    public async Task An_idle_stream_gets_heartbeats_carrying_the_current_token_then_live_changes()
    {
        await using var server = await TestServer.StartAsync(null, "--ChangeFeed:HeartbeatInterval", "00:00:00.2");
        var token = await server.CreateUserAsync("carol");
        await new ChangeFeedWorkload(5).IngestAsync(server, token, "watch-1", 1);
        using var call = Subscribe(server, token);
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(SubscribeResponse.KindOneofCase.Change, (await NextAsync(call)).KindCase);
        }

        var caughtUp = await NextAsync(call);
        var heartbeat = await NextAsync(call);
        await server.Client.UploadAsync(Upload(HeartRate(1, NewUuids(1)), Device("phone-1")), SyncApi.As(token)).Bounded();
        SubscribeResponse live;
        do
        {
            live = await NextAsync(call);
        }
        while (live.KindCase == SubscribeResponse.KindOneofCase.Heartbeat);

        Assert.Equal(SubscribeResponse.KindOneofCase.CaughtUp, caughtUp.KindCase);
        Assert.Equal(SubscribeResponse.KindOneofCase.Heartbeat, heartbeat.KindCase);
        Assert.Equal(ChangeFeedApi.TokenAt(5, "carol"), heartbeat.Token);
        Assert.Equal(6ul, live.Change.Sequence);
    }

    [Fact]
    public async Task Subscribe_refuses_bad_tokens_and_other_users_like_Changes()
    {
        var invalid = await ChangeFeedApi.RefusedAsync(() => NextAsync(Subscribe(Server, Token, "c1.1")));
        var other = await ChangeFeedApi.RefusedAsync(() => NextAsync(ChangeFeedApi.Client(Server).Subscribe(
            new SubscribeRequest { OwnerUserId = "bob" }, SyncApi.As(Token))));

        Assert.Equal((StatusCode.InvalidArgument, ErrorReason.ChangeTokenInvalid), (invalid.StatusCode, SyncApi.Detail(invalid).Reason));
        Assert.Equal((StatusCode.PermissionDenied, ErrorReason.NoGrant), (other.StatusCode, SyncApi.Detail(other).Reason));
    }

    [Fact]
    public async Task A_subscriber_that_stops_reading_holds_a_bounded_slice_then_is_ended_with_resource_exhausted()
    {
        const int readSize = 64;
        await using var server = await TestServer.StartAsync(
            null, "--ChangeFeed:SubscribeReadSize", $"{readSize}", "--ChangeFeed:SubscribeWriteTimeout", "00:00:02");
        var token = await server.CreateUserAsync("carol");
        await new ChangeFeedWorkload(1000).IngestAsync(server, token, "watch-1", 20);

        using var call = Subscribe(server, token); // one message read (the subscription is registered), then no more
        await NextAsync(call);
        var subscriber = ChangeFeedApi.Subscribers(server).Single();
        await subscriber.FellBehind.Bounded();

        // Taken by the server at every read from the store: what it held for this subscriber never exceeded one slice.
        Assert.InRange(subscriber.MostHeld, 1, readSize);
        Assert.InRange(subscriber.ChangesRead, 1, 5_000); // of 20,000 committed: the window filled and the server stopped reading
        var received = 1;
        var error = await ChangeFeedApi.RefusedAsync(async () =>
        {
            while (true)
            {
                await NextAsync(call);
                received++;
            }
        });

        Assert.True(error.StatusCode == StatusCode.ResourceExhausted, $"{error.StatusCode}: {error.Status.Detail}");
        Assert.Equal(ErrorReason.SubscriberTooSlow, SyncApi.Detail(error).Reason);
        Assert.Contains("Subscribe again with the last token", error.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(subscriber.MessagesWritten, received); // everything the server wrote arrived, then the status
        Assert.Empty(ChangeFeedApi.Subscribers(server));
    }

    [Fact]
    public async Task A_graceful_stop_ends_open_subscriptions_with_unavailable_at_once()
    {
        var server = await TestServer.StartAsync();
        try
        {
            var token = await server.CreateUserAsync("carol");
            using var call = Subscribe(server, token);
            Assert.Equal(SubscribeResponse.KindOneofCase.CaughtUp, (await NextAsync(call)).KindCase);

            var stopping = server.StopAsync();
            var error = await ChangeFeedApi.RefusedAsync(() => NextAsync(call));
            await stopping.Bounded();

            // Without ending it the host would wait out its 15 s shutdown timeout and then reset the stream.
            Assert.True(error.StatusCode == StatusCode.Unavailable, $"{error.StatusCode}: {error.Status.Detail}");
            Assert.Contains("from the last token", error.Status.Detail, StringComparison.Ordinal);
        }
        finally
        {
            await server.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_client_cancelling_ends_the_subscription_without_error_logs()
    {
        using var capture = new LogCapture();
        await using var server = await TestServer.StartAsync(null, builder =>
        {
            builder.Logging.AddProvider(capture);
            builder.Logging.AddFilter<LogCapture>(null, LogLevel.Debug);
        });
        var token = await server.CreateUserAsync("carol");
        using var cancel = new CancellationTokenSource();
        using var call = Subscribe(server, token, ct: cancel.Token);
        Assert.Equal(SubscribeResponse.KindOneofCase.CaughtUp, (await NextAsync(call)).KindCase);
        Assert.Single(ChangeFeedApi.Subscribers(server));

        await cancel.CancelAsync();
        var error = await ChangeFeedApi.RefusedAsync(() => NextAsync(call));
        await capture.WentAway.Task.Bounded();

        Assert.Equal(StatusCode.Cancelled, error.StatusCode);
        Assert.Empty(ChangeFeedApi.Subscribers(server));
        Assert.DoesNotContain(capture.Entries, entry => entry.Level >= LogLevel.Warning);
    }
}
