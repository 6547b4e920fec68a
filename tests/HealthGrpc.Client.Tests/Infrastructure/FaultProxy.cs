using System.Net;
using System.Net.Sockets;

namespace HealthGrpc.Client.Tests.Infrastructure;

/// <summary>What the proxy does to a connection.</summary>
internal enum FaultKind
{
    None,

    /// <summary>Close both sides (FIN) after N bytes went server→client.</summary>
    DropAfterBytesToClient,

    /// <summary>Close both sides (FIN) after N bytes went client→server.</summary>
    DropAfterBytesToServer,

    /// <summary>Reset both sides (RST) after N bytes went client→server.</summary>
    ResetAfterBytesToServer,

    /// <summary>Stop forwarding both ways after N bytes went client→server; the sockets stay open.</summary>
    BlackHoleAfterBytesToServer,

    /// <summary>Forward client→server, but swallow everything server→client once N bytes went client→server (acks lost after commit).</summary>
    LoseResponsesAfterBytesToServer,

    /// <summary>Delay every chunk in both directions by <see cref="Fault.Delay"/>.</summary>
    Delay,
}

internal sealed record Fault(FaultKind Kind, long Bytes = 0, TimeSpan Delay = default, int Connections = 1)
{
    public override string ToString() => Kind == FaultKind.Delay ? $"{Kind}({Delay.TotalMilliseconds} ms)" : $"{Kind}({Bytes})";
}

/// <summary>
/// A TCP proxy in front of the server that injects faults deterministically. An armed fault applies to the next
/// <see cref="Fault.Connections"/> accepted connections; later connections pass through untouched.
/// </summary>
internal sealed class FaultProxy : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly IPEndPoint _target;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Socket> _sockets = [];
    private readonly Lock _lock = new();
    private readonly Task _accept;
    private Fault _fault = new(FaultKind.None);
    private int _faultConnectionsLeft;
    private int _triggered;

    public FaultProxy(Uri target)
    {
        _target = new IPEndPoint(IPAddress.Loopback, target.Port);
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        Address = new Uri($"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}");
        _accept = AcceptLoopAsync();
    }

    public Uri Address { get; }

    public int Connections { get; private set; }

    /// <summary>How many times a fault actually fired.</summary>
    public int Triggered => Volatile.Read(ref _triggered);

    public void Arm(Fault fault)
    {
        lock (_lock)
        {
            _fault = fault;
            _faultConnectionsLeft = fault.Connections;
        }
    }

    /// <summary>Resets every open connection (RST).</summary>
    public void ResetAll()
    {
        lock (_lock)
        {
            foreach (var s in _sockets)
            {
                Reset(s);
            }

            _sockets.Clear();
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

            Fault fault;
            lock (_lock)
            {
                Connections++;
                fault = _faultConnectionsLeft > 0 ? _fault : new Fault(FaultKind.None);
                if (_faultConnectionsLeft > 0)
                {
                    _faultConnectionsLeft--;
                }
            }

            _ = HandleAsync(client, fault);
        }
    }

    private async Task HandleAsync(Socket client, Fault fault)
    {
        var server = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        client.NoDelay = true;
        try
        {
            await server.ConnectAsync(_target, _stop.Token);
        }
        catch (Exception)
        {
            Reset(client);
            server.Dispose();
            return;
        }

        lock (_lock)
        {
            _sockets.Add(client);
            _sockets.Add(server);
        }

        var conn = new Connection(fault, this, client, server);
        await Task.WhenAll(conn.PumpAsync(client, server, toServer: true, _stop.Token), conn.PumpAsync(server, client, toServer: false, _stop.Token));
        lock (_lock)
        {
            _sockets.Remove(client);
            _sockets.Remove(server);
        }

        client.Dispose();
        server.Dispose();
    }

    private static void Reset(Socket s)
    {
        try
        {
            s.LingerState = new LingerOption(true, 0);
            s.Close();
        }
        catch (Exception)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        ResetAll();
        try
        {
            await _accept.WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (Exception)
        {
        }

        _stop.Dispose();
    }

    private sealed class Connection(Fault fault, FaultProxy proxy, Socket client, Socket server)
    {
        private long _toServer;
        private long _toClient;
        private volatile bool _fired;
        private volatile bool _blackHole;
        private volatile bool _loseResponses;

        public async Task PumpAsync(Socket from, Socket to, bool toServer, CancellationToken ct)
        {
            var buffer = new byte[16 * 1024];
            try
            {
                while (true)
                {
                    var n = await from.ReceiveAsync(buffer, SocketFlags.None, ct);
                    if (n == 0)
                    {
                        to.Shutdown(SocketShutdown.Send);
                        return;
                    }

                    if (fault.Kind == FaultKind.Delay)
                    {
                        await Task.Delay(fault.Delay, ct);
                    }

                    var total = toServer ? Interlocked.Add(ref _toServer, n) : Interlocked.Add(ref _toClient, n);
                    var send = n;
                    if (!_fired)
                    {
                        var limitHit = fault.Kind switch
                        {
                            FaultKind.DropAfterBytesToClient => !toServer && total >= fault.Bytes,
                            FaultKind.DropAfterBytesToServer or FaultKind.ResetAfterBytesToServer or FaultKind.BlackHoleAfterBytesToServer
                                or FaultKind.LoseResponsesAfterBytesToServer => toServer && total >= fault.Bytes,
                            _ => false,
                        };
                        if (limitHit)
                        {
                            _fired = true;
                            Interlocked.Increment(ref proxy._triggered);
                            send = (int)Math.Max(0, n - (total - fault.Bytes));
                            switch (fault.Kind)
                            {
                                case FaultKind.DropAfterBytesToClient or FaultKind.DropAfterBytesToServer:
                                    if (send > 0)
                                    {
                                        await to.SendAsync(buffer.AsMemory(0, send), SocketFlags.None, ct);
                                    }

                                    client.Shutdown(SocketShutdown.Both);
                                    server.Shutdown(SocketShutdown.Both);
                                    client.Close();
                                    server.Close();
                                    return;
                                case FaultKind.ResetAfterBytesToServer:
                                    Reset(client);
                                    Reset(server);
                                    return;
                                case FaultKind.BlackHoleAfterBytesToServer:
                                    _blackHole = true;
                                    break;
                                case FaultKind.LoseResponsesAfterBytesToServer:
                                    _loseResponses = true;
                                    send = n;
                                    break;
                            }
                        }
                    }

                    if (_blackHole || (!toServer && _loseResponses))
                    {
                        continue; // swallowed
                    }

                    await to.SendAsync(buffer.AsMemory(0, send), SocketFlags.None, ct);
                }
            }
            catch (Exception)
            {
                Reset(client);
                Reset(server);
            }
        }
    }
}
