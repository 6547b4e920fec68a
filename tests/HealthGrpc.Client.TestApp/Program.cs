using HealthGrpc.Client;
using HealthGrpc.Client.TestApp;

// usage: HealthGrpc.Client.TestApp <db> <server> <token> <enqueue-and-sync|drain> <first-set> <sets>
// Prints "ENQUEUED <set>" (flushed) right after EnqueueAsync returns: from then on the set is durable.
var (db, server, token, mode) = (args[0], new Uri(args[1]), args[2], args[3]);
var firstSet = int.Parse(args[4], System.Globalization.CultureInfo.InvariantCulture);
var sets = int.Parse(args[5], System.Globalization.CultureInfo.InvariantCulture);
var options = new HealthSyncOptions
{
    ServerAddress = server,
    DatabasePath = db,
    AccessToken = token,
    DeviceId = "kill-test-device",
    MaxSamplesPerBatch = 500,
    AckTimeout = TimeSpan.FromSeconds(3),
    RetryBaseDelay = TimeSpan.FromMilliseconds(50),
    RetryMaxDelay = TimeSpan.FromMilliseconds(500),
};

await using var client = await HealthSyncClient.OpenAsync(options);
if (mode == "drain")
{
    await client.WaitUntilDrainedAsync();
    Console.WriteLine("DRAINED " + await client.CheckIntegrityAsync());
    return 0;
}

client.Start(); // the engine drains while we enqueue: a kill lands in either
for (var set = firstSet; set < firstSet + sets; set++)
{
    await client.EnqueueAsync([KillTestData.Set(set)]);
    Console.WriteLine("ENQUEUED " + set);
    Console.Out.Flush();
}

await client.WaitUntilDrainedAsync();
Console.WriteLine("DRAINED");
return 0;
