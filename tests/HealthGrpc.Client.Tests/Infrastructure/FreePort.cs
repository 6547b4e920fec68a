using System.Net;
using System.Net.Sockets;

namespace HealthGrpc.Client.Tests.Infrastructure;

/// <summary>A loopback address where nothing listens yet: a client starts "offline" and the server comes up there later.</summary>
internal static class FreePort
{
    public static Uri Reserve()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        var port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        return new Uri($"http://127.0.0.1:{port}");
    }
}
