using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Grpc.Net.Client;
using HealthGrpc.Storage;
using HealthGrpc.Storage.Sqlite;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;

namespace HealthGrpc.LoadTest;

/// <summary>
/// The real server over a fresh SQLite file: by default the shipped `healthgrpc serve` as a child process (so its CPU
/// and peak RSS are its own), or in this process with <c>--inproc</c>.
/// </summary>
internal sealed class ServerUnderTest : IAsyncDisposable
{
    private readonly Process? _process;
    private readonly WebApplication? _app;

    private ServerUnderTest(string path, Uri address, Process? process, WebApplication? app)
    {
        DatabasePath = path;
        Address = address;
        _process = process;
        _app = app;
    }

    public string DatabasePath { get; }

    public Uri Address { get; }

    public bool InProc => _app is not null;

    public static string FreshDatabasePath(string name) =>
        Path.Combine(Directory.CreateTempSubdirectory("healthgrpc-bench-").FullName, name);

    /// <summary>Creates the user (token hash = SHA-256 of the UTF-8 token, as the server checks it) before the server starts.</summary>
    public static async Task<string> CreateUserAsync(string path, string userId)
    {
        var token = Convert.ToHexString(RandomNumberGenerator.GetBytes(24));
        await using var store = await SqliteHealthStore.OpenAsync(path);
        await store.AddTokenAsync(userId, SHA256.HashData(Encoding.UTF8.GetBytes(token)), CancellationToken.None);
        return token;
    }

    public static async Task<ServerUnderTest> StartAsync(string path, bool inProc, string? serverDll = null)
    {
        string[] args = ["--urls", "http://127.0.0.1:0", "--Logging:LogLevel:Default", "Warning"];
        if (inProc)
        {
            var app = await HealthGrpc.Server.ServerHost.BuildAsync([.. args, "--Storage:Path", path]);
            await app.StartAsync();
            var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
            return new ServerUnderTest(path, new Uri(address), null, app);
        }

        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add("exec");
        info.ArgumentList.Add(serverDll ?? Path.Combine(AppContext.BaseDirectory, "healthgrpc.dll"));
        // The command names the store --store (as every healthgrpc verb does); the host's own key is Storage:Path.
        foreach (var arg in (string[])["serve", "--store", path, .. args])
        {
            info.ArgumentList.Add(arg);
        }

        info.Environment["Logging__LogLevel__Microsoft.Hosting.Lifetime"] = "Information";
        var process = Process.Start(info) ?? throw new InvalidOperationException("could not start the server");
        _ = process.StandardError.ReadToEndAsync();
        const string listening = "Now listening on: ";
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (await process.StandardOutput.ReadLineAsync(timeout.Token) is { } line)
        {
            var at = line.IndexOf(listening, StringComparison.Ordinal);
            if (at >= 0)
            {
                _ = process.StandardOutput.ReadToEndAsync();
                return new ServerUnderTest(path, new Uri(line[(at + listening.Length)..].Trim()), process, null);
            }
        }

        throw new InvalidOperationException("the server exited before listening");
    }

    /// <summary>CPU time of the server process (this process when in-process).</summary>
    public TimeSpan CpuTime()
    {
        if (_process is null)
        {
            return Process.GetCurrentProcess().TotalProcessorTime;
        }

        _process.Refresh();
        return _process.TotalProcessorTime;
    }

    /// <summary>Peak resident set (VmHWM) of the server process, in bytes.</summary>
    public long PeakRss() => ProcStatus.PeakRss(_process?.Id ?? Environment.ProcessId);

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }

        if (_process is { HasExited: false })
        {
            // Every batch counted was acked, so it is durable: a SIGKILL here loses nothing the harness counts.
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process?.Dispose();
    }
}

internal static class ProcStatus
{
    public static long PeakRss(int pid)
    {
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
            {
                return long.Parse(line.AsSpan(6).Trim().TrimEnd("kB").Trim(), System.Globalization.CultureInfo.InvariantCulture) * 1024;
            }
        }

        return 0;
    }
}

/// <summary>Counts the bytes that cross the client's TCP sockets (HTTP/2 frames, headers, gRPC framing and protobuf).</summary>
internal static class WireCounter
{
    private static long s_sent;
    private static long s_received;

    public static long Sent => Interlocked.Read(ref s_sent);

    public static long Received => Interlocked.Read(ref s_received);

    public static GrpcChannel CreateChannel(Uri address)
    {
        var handler = new SocketsHttpHandler
        {
            EnableMultipleHttp2Connections = true,
            AutomaticDecompression = DecompressionMethods.None,
            UseCookies = false,
            UseProxy = false,
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5),
            ConnectCallback = async (context, ct) =>
            {
                var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                await socket.ConnectAsync(context.DnsEndPoint, ct);
                return new CountingStream(new NetworkStream(socket, ownsSocket: true));
            },
        };
        return GrpcChannel.ForAddress(address, new GrpcChannelOptions { HttpHandler = handler, MaxReceiveMessageSize = 64 * 1024 * 1024 });
    }

    private sealed class CountingStream(Stream inner) : Stream
    {
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() => inner.Flush();
        public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);
        public override int Read(byte[] buffer, int offset, int count) => Count(inner.Read(buffer, offset, count));
        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            Count(await inner.ReadAsync(buffer, cancellationToken));
        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count)
        {
            Interlocked.Add(ref s_sent, count);
            inner.Write(buffer, offset, count);
        }

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            Interlocked.Add(ref s_sent, buffer.Length);
            return inner.WriteAsync(buffer, cancellationToken);
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
            }

            base.Dispose(disposing);
        }

        private static int Count(int n)
        {
            Interlocked.Add(ref s_received, n);
            return n;
        }
    }
}
