using System.Diagnostics.Metrics;

namespace HealthGrpc.Client.Tests.Infrastructure;

/// <summary>
/// Counts the TCP connections the in-process server accepted on one port (Kestrel's <c>kestrel.active_connections</c>
/// increments): whatever route a client took, the server saw it. Filtered by port because other tests' servers run in
/// the same process.
/// </summary>
internal sealed class KestrelConnections : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly int _port;
    private int _accepted;

    public KestrelConnections(Uri server)
    {
        _port = server.Port;
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == "Microsoft.AspNetCore.Server.Kestrel" && instrument.Name == "kestrel.active_connections")
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>(OnMeasurement);
        _listener.Start();
    }

    public int Accepted => Volatile.Read(ref _accepted);

    private void OnMeasurement(Instrument instrument, long delta, ReadOnlySpan<KeyValuePair<string, object?>> tags, object? state)
    {
        if (delta <= 0)
        {
            return;
        }

        foreach (var tag in tags)
        {
            if (tag.Key == "server.port" && Convert.ToInt32(tag.Value, System.Globalization.CultureInfo.InvariantCulture) == _port)
            {
                Interlocked.Increment(ref _accepted);
            }
        }
    }

    public void Dispose() => _listener.Dispose();
}
