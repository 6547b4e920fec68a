using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace HealthGrpc.Client.Tests.Infrastructure;

/// <summary>
/// A minimal HTTP CONNECT proxy on loopback: it reads the request head, opens a TCP tunnel to the requested
/// host:port and pumps bytes both ways. It records every CONNECT target and refuses any other request (an absolute-URI
/// forward would mean the client did not tunnel) with 405, counting it.
/// </summary>
internal sealed class ConnectProxy : IAsyncDisposable
{
    private const int MaxHeadBytes = 8192;
    private readonly TcpListener _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentBag<Socket> _sockets = [];
    private readonly ConcurrentQueue<string> _connectTargets = new();
    private readonly Task _accept;
    private int _refused;

    private ConnectProxy(TcpListener listener)
    {
        _listener = listener;
        Address = new Uri($"http://127.0.0.1:{((IPEndPoint)listener.LocalEndpoint).Port}");
        _accept = AcceptLoopAsync();
    }

    public Uri Address { get; }

    /// <summary>The host:port of every CONNECT, in arrival order.</summary>
    public IReadOnlyList<string> ConnectTargets => [.. _connectTargets];

    /// <summary>Requests that were not CONNECT (refused).</summary>
    public int Refused => Volatile.Read(ref _refused);

    /// <summary>Starts the proxy on <paramref name="port"/> (0: any free port).</summary>
    public static ConnectProxy Start(int port = 0)
    {
        var listener = new TcpListener(IPAddress.Loopback, port);
        listener.Start();
        return new ConnectProxy(listener);
    }

    /// <summary>Resets every open tunnel (RST), so that the client has to open new connections.</summary>
    public void ResetAll()
    {
        while (_sockets.TryTake(out var socket))
        {
            try
            {
                socket.LingerState = new LingerOption(true, 0);
            }
            catch (ObjectDisposedException)
            {
                // The tunnel already ended.
            }

            socket.Dispose();
        }
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptSocketAsync(_stop.Token);
            }
            catch (Exception) when (_stop.IsCancellationRequested)
            {
                return;
            }

            client.NoDelay = true;
            _sockets.Add(client);
            _ = TunnelAsync(client);
        }
    }

    private async Task TunnelAsync(Socket client)
    {
        try
        {
            var head = await ReadHeadAsync(client);
            var requestLine = head[..head.IndexOf("\r\n", StringComparison.Ordinal)].Split(' ');
            if (requestLine is not ["CONNECT", var target, _])
            {
                Interlocked.Increment(ref _refused);
                await client.SendAsync("HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"u8.ToArray(), _stop.Token);
                client.Dispose();
                return;
            }

            var colon = target.LastIndexOf(':');
            var server = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            _sockets.Add(server);
            await server.ConnectAsync(target[..colon], int.Parse(target[(colon + 1)..], System.Globalization.CultureInfo.InvariantCulture), _stop.Token);
            _connectTargets.Enqueue(target);
            await client.SendAsync("HTTP/1.1 200 Connection Established\r\n\r\n"u8.ToArray(), _stop.Token);
            await Task.WhenAny(PumpAsync(client, server), PumpAsync(server, client));
            client.Dispose();
            server.Dispose();
        }
        catch (Exception)
        {
            // A reset tunnel or a stopping proxy: the client sees its connection fail, which is the point.
            client.Dispose();
        }
    }

    /// <summary>The request head, byte by byte so that nothing after it (the tunnelled bytes) is consumed.</summary>
    private async Task<string> ReadHeadAsync(Socket client)
    {
        var head = new StringBuilder();
        var one = new byte[1];
        while (!head.ToString().EndsWith("\r\n\r\n", StringComparison.Ordinal))
        {
            if (head.Length >= MaxHeadBytes || await client.ReceiveAsync(one, _stop.Token) == 0)
            {
                throw new IOException($"No complete request head within {MaxHeadBytes} bytes.");
            }

            head.Append((char)one[0]);
        }

        return head.ToString();
    }

    private async Task PumpAsync(Socket from, Socket to)
    {
        var buffer = new byte[16 * 1024];
        try
        {
            int read;
            while ((read = await from.ReceiveAsync(buffer, _stop.Token)) > 0)
            {
                await to.SendAsync(buffer.AsMemory(0, read), _stop.Token);
            }
        }
        catch (Exception)
        {
            // Either side gone: the tunnel ends.
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        ResetAll();
        await _accept.WaitAsync(TimeSpan.FromSeconds(10));
        _stop.Dispose();
    }
}
