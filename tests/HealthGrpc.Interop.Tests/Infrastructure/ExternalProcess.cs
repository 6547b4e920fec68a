using System.Diagnostics;
using System.Text;
using System.Threading.Channels;

namespace HealthGrpc.Interop.Tests.Infrastructure;

/// <summary>
/// A child process (the HealthGrpc server, node, buf) with captured output, read line by line as it comes. Its stdin
/// stays open for its lifetime; dispose kills the whole process tree if it is still running.
/// </summary>
internal sealed class ExternalProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _stdout = new();
    private readonly StringBuilder _stderr = new();
    private readonly Lock _lock = new();
    private readonly Channel<string> _lines = Channel.CreateUnbounded<string>();
    private readonly TaskCompletionSource _stdoutClosed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _stderrClosed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private ExternalProcess(Process process, string commandLine)
    {
        _process = process;
        CommandLine = commandLine;
    }

    public string CommandLine { get; }

    public string Stdout
    {
        get
        {
            lock (_lock)
            {
                return _stdout.ToString();
            }
        }
    }

    public string Stderr
    {
        get
        {
            lock (_lock)
            {
                return _stderr.ToString();
            }
        }
    }

    public static ExternalProcess Start(
        string fileName, IEnumerable<string> arguments, string workingDirectory, IReadOnlyDictionary<string, string>? environment = null)
    {
        var psi = new ProcessStartInfo(fileName)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        foreach (var a in arguments)
        {
            psi.ArgumentList.Add(a);
        }

        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            psi.Environment[name] = value;
        }

        var process = new Process { StartInfo = psi, EnableRaisingEvents = true };
        var result = new ExternalProcess(process, fileName + " " + string.Join(' ', psi.ArgumentList));
        process.OutputDataReceived += (_, e) => result.OnLine(e.Data, isStdout: true);
        process.ErrorDataReceived += (_, e) => result.OnLine(e.Data, isStdout: false);
        try
        {
            process.Start();
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            process.Dispose();
            throw new InvalidOperationException($"Cannot start `{result.CommandLine}` ({ex.Message}). Is it installed and on PATH?", ex);
        }

        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return result;
    }

    private void OnLine(string? line, bool isStdout)
    {
        if (line is null)
        {
            if (isStdout)
            {
                _lines.Writer.TryComplete();
                _stdoutClosed.TrySetResult();
            }
            else
            {
                _stderrClosed.TrySetResult();
            }

            return;
        }

        lock (_lock)
        {
            (isStdout ? _stdout : _stderr).AppendLine(line);
        }

        if (isStdout)
        {
            _lines.Writer.TryWrite(line);
        }
    }

    /// <summary>The next stdout line, or null when stdout closed.</summary>
    public async Task<string?> ReadLineAsync(TimeSpan timeout)
    {
        try
        {
            return await _lines.Reader.ReadAsync().AsTask().WaitAsync(timeout);
        }
        catch (ChannelClosedException)
        {
            return null;
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"`{CommandLine}` printed no line within {timeout.TotalSeconds} s.{Describe()}");
        }
    }

    /// <summary>Waits for exit (and the end of its output); kills it and throws on timeout.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        try
        {
            await _process.WaitForExitAsync().WaitAsync(timeout);
            await Task.WhenAll(_stdoutClosed.Task, _stderrClosed.Task).WaitAsync(timeout);
            return _process.ExitCode;
        }
        catch (TimeoutException)
        {
            Kill();
            throw new TimeoutException($"`{CommandLine}` did not exit within {timeout.TotalSeconds} s (killed).{Describe()}");
        }
    }

    public string Describe() => $"{Environment.NewLine}--- stdout ---{Environment.NewLine}{Stdout}--- stderr ---{Environment.NewLine}{Stderr}";

    private void Kill()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
    }

    public async ValueTask DisposeAsync()
    {
        Kill();
        try
        {
            await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (TimeoutException)
        {
            // Nothing more to do: it was sent SIGKILL.
        }

        _process.Dispose();
    }
}
