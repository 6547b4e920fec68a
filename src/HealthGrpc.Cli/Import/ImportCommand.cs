using System.CommandLine;
using System.Xml;
using HealthGrpc.Cli.Shared;
using Spectre.Console;

namespace HealthGrpc.Cli.Import;

/// <summary>`healthgrpc import apple-health PATH`: an Apple Health export streamed to a server through the SDK.</summary>
internal static class ImportCommand
{
    public static Command Build() => new("import", "Import data people already hold into a server") { AppleHealth() };

    /// <summary>Where imports keep their durable queues by default: $XDG_STATE_HOME/healthgrpc/import, else ~/.local/state/healthgrpc/import.</summary>
    public static string DefaultStateDirectory()
    {
        var state = Environment.GetEnvironmentVariable("XDG_STATE_HOME");
        if (string.IsNullOrEmpty(state))
        {
            state = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".local", "state");
        }

        return Path.Combine(state, "healthgrpc", "import");
    }

    private static Command AppleHealth()
    {
        var path = new Argument<FileInfo>("path") { Description = "The export: export.zip as the Health app writes it (Profile → Export All Health Data), or its export.xml" };
        var server = ServerOptions.Server();
        var token = ServerOptions.Token();
        var allowInsecure = ServerOptions.AllowInsecure();
        var stateDir = new Option<string>("--state-dir")
        {
            Description = "Directory of the import's durable queue and anchors, one SQLite file per export (default: $XDG_STATE_HOME/healthgrpc/import, else ~/.local/state/healthgrpc/import)",
            HelpName = "DIR",
        };
        var deviceId = new Option<string>("--device-id")
        {
            Description = "Device id of this export on the server (default: derived from the export's first MiB, so running the same export again resumes it)",
            HelpName = "ID",
        };
        var command = new Command(
            "apple-health",
            "Stream an Apple Health export to a server through the SDK: resumable (run it again after an interruption), never duplicating (same export again: nothing new stored), with a summary by type")
        {
            path, server, token, allowInsecure, stateDir, deviceId, Terminal.JsonOption,
        };
        command.SetAction(async (parse, ct) =>
        {
            var file = parse.GetValue(path)!;
            if (!file.Exists)
            {
                return Terminal.Fail($"no export at '{file.FullName}'.");
            }

            if (ServerOptions.Resolve(parse, server, token) is not ({ } address, { } bearer))
            {
                return 1;
            }

            var settings = new ImportSettings(file.FullName, address, bearer, parse.GetValue(stateDir) ?? DefaultStateDirectory(), parse.GetValue(deviceId), parse.GetValue(allowInsecure));
            var json = parse.GetValue(Terminal.JsonOption);
            using var run = new ImportRun(settings);
            var work = run.RunAsync(ct);
            await ImportProgress.ShowWhileAsync(run, work);
            try
            {
                await work;
            }
            catch (Exception e) when (e is ImportFailedException or XmlException or InvalidDataException or ArgumentException or IOException)
            {
                ImportSummary.Write(run, json);
                var what = e is XmlException ? $"the export is not well-formed XML: {e.Message}" : e.Message;
                return Terminal.Fail($"{what} What was acked before is stored; run the import again to resume.");
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                ImportSummary.Write(run, json);
                Terminal.Error.MarkupLine("[yellow]interrupted:[/] run the import again to resume where it stopped.");
                return 130;
            }

            ImportSummary.Write(run, json);
            return 0;
        });
        return command;
    }
}
