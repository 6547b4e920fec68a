using System.Globalization;
using HealthGrpc.Cli.Shared;
using Spectre.Console;

namespace HealthGrpc.Cli.Import;

/// <summary>
/// A live progress bar on stderr (bytes of export.xml, records/s) while an import runs; when stderr is not a terminal, a
/// plain line every 10 s instead, so logs of long imports still show progress.
/// </summary>
internal static class ImportProgress
{
    public static async Task ShowWhileAsync(ImportRun run, Task work)
    {
        if (Console.IsErrorRedirected)
        {
            while (await Task.WhenAny(work, Task.Delay(TimeSpan.FromSeconds(10))).ConfigureAwait(false) != work)
            {
                Console.Error.WriteLine(Line(run));
            }

            return;
        }

        await Terminal.Error.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new DownloadedColumn(), new TransferSpeedColumn())
            .StartAsync(async context =>
            {
                var task = context.AddTask("export.xml");
                while (true)
                {
                    var (read, total) = run.Bytes;
                    task.MaxValue = Math.Max(total, 1);
                    task.Value = read;
                    task.Description = Markup.Escape(Line(run));
                    if (await Task.WhenAny(work, Task.Delay(250)).ConfigureAwait(false) == work)
                    {
                        task.Value = task.MaxValue;
                        return;
                    }
                }
            }).ConfigureAwait(false);
    }

    private static string Line(ImportRun run)
    {
        var seconds = Math.Max(run.Elapsed.Elapsed.TotalSeconds, 0.001);
        var read = run.Tally.TotalRead;
        var (bytes, total) = run.Bytes;
        var line = string.Create(CultureInfo.InvariantCulture, $"{read:N0} records ({read / seconds:N0}/s), {bytes / 1048576.0:N0} of {total / 1048576.0:N0} MiB");
        return run.LastError is { } error ? $"{line}; retrying: {error}" : line;
    }
}
