using System.Diagnostics;
using HealthGrpc.Client.Tests.Infrastructure;
using Microsoft.Data.Sqlite;
using HealthGrpc.Client.TestApp;
using Xunit.Abstractions;

namespace HealthGrpc.Client.Tests;

/// <summary>
/// The app embedding the SDK is SIGKILLed at random points while it enqueues and drains, then restarted: every set
/// whose EnqueueAsync returned reaches the server, none is stored twice, and the local database stays intact.
/// </summary>
public sealed class ClientKillTests(ITestOutputHelper output)
{
    private const int Kills = 5, SetsPerRun = 400;
    private static readonly string AppDll = Path.Combine(AppContext.BaseDirectory, "HealthGrpc.Client.TestApp.dll");

    [Fact]
    public async Task ClientKilledDuringEnqueueAndDrain_EveryReturnedEnqueueIsStoredExactlyOnce()
    {
        var seed = Environment.TickCount;
        output.WriteLine($"seed {seed}");
        var random = new Random(seed);
        await using var server = await TestServer.StartAsync();
        var db = Path.Combine(server.Directory, "client.db");
        var enqueued = new SortedSet<int>();
        var nextSet = 0;

        for (var kill = 0; kill < Kills; kill++)
        {
            using var app = StartApp(db, server, "enqueue-and-sync", nextSet, SetsPerRun);
            var firstEnqueued = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var reader = ReadEnqueuedAsync(app, enqueued, firstEnqueued);
            if (kill % 2 == 1)
            {
                // Every other run is killed only once it is enqueuing (start-up time varies a lot on a loaded machine),
                // so some enqueues surely returned; the others may be killed anywhere, start-up included.
                await Task.WhenAny(firstEnqueued.Task, reader).WaitAsync(TestClient.Timeout);
                await Task.Delay(random.Next(0, 1200));
            }
            else
            {
                await Task.Delay(random.Next(300, 1500));
            }

            app.Kill(entireProcessTree: true); // SIGKILL: no finally blocks, no flush, no dispose
            await app.WaitForExitAsync().WaitAsync(TestClient.Timeout);
            await reader.WaitAsync(TestClient.Timeout);
            output.WriteLine($"kill {kill}: {enqueued.Count} sets reported enqueued so far");
            Assert.Equal("ok", IntegrityCheck(db));
            nextSet = enqueued.Count == 0 ? nextSet : enqueued.Max + 1;
        }

        using (var drain = StartApp(db, server, "drain", 0, 0))
        {
            var last = await drain.StandardOutput.ReadToEndAsync().WaitAsync(TestClient.Timeout);
            await drain.WaitForExitAsync().WaitAsync(TestClient.Timeout);
            Assert.True(drain.ExitCode == 0, $"drain failed: {await drain.StandardError.ReadToEndAsync()}");
            Assert.Contains("DRAINED ok", last, StringComparison.Ordinal);
        }

        var stored = await StoredUuidsAsync(server);
        var reported = enqueued.SelectMany(set => Enumerable.Range(set * KillTestData.SamplesPerSet, KillTestData.SamplesPerSet)).Select(KillTestData.Uuid).ToHashSet();
        Assert.True(reported.Count > 0, "no enqueue returned before the kills: the test proved nothing");
        Assert.Empty(reported.Except(stored)); // nothing whose enqueue returned is lost
        Assert.Equal(stored.Count, await server.CountSamplesAsync()); // and nothing is stored twice
        output.WriteLine($"{reported.Count} samples reported enqueued, {stored.Count} stored");
    }

    private static Process StartApp(string db, TestServer server, string mode, int firstSet, int sets)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in new[] { "exec", AppDll, db, server.Address.ToString(), server.Token, mode, firstSet.ToString(System.Globalization.CultureInfo.InvariantCulture), sets.ToString(System.Globalization.CultureInfo.InvariantCulture) })
        {
            info.ArgumentList.Add(arg);
        }

        return Process.Start(info) ?? throw new InvalidOperationException("could not start the test app");
    }

    private static async Task ReadEnqueuedAsync(Process app, SortedSet<int> enqueued, TaskCompletionSource firstEnqueued)
    {
        while (await app.StandardOutput.ReadLineAsync() is { } line)
        {
            if (line.StartsWith("ENQUEUED ", StringComparison.Ordinal))
            {
                lock (enqueued)
                {
                    enqueued.Add(int.Parse(line.AsSpan("ENQUEUED ".Length), System.Globalization.CultureInfo.InvariantCulture));
                }

                firstEnqueued.TrySetResult();
            }
        }
    }

    private static string IntegrityCheck(string db)
    {
        using var connection = new SqliteConnection($"Data Source={db};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA integrity_check";
        return (string)command.ExecuteScalar()!;
    }

    private static async Task<HashSet<Guid>> StoredUuidsAsync(TestServer server)
    {
        var uuids = new HashSet<Guid>();
        long after = 0;
        Storage.ChangePage page;
        do
        {
            page = await server.Store.ReadChangesAsync(server.UserId, after, 10_000, CancellationToken.None).WaitAsync(TestClient.Timeout);
            foreach (var change in page.Changes)
            {
                if (change.Sample is { } sample)
                {
                    uuids.Add(sample.Uuid);
                }

                after = change.Sequence;
            }
        }
        while (page.HasMore);

        return uuids;
    }
}
