using System.CommandLine;
using System.Globalization;
using HealthGrpc.Cli.Shared;
using Spectre.Console;

namespace HealthGrpc.Cli.Accounts;

/// <summary>`healthgrpc user quota USER [--devices N|default] [--samples-per-day N|default] [--stored-bytes N|default]`.</summary>
internal static class UserQuotaCommand
{
    public static Command Build()
    {
        var userId = new Argument<string>("user-id") { Description = "The user" };
        var quotas = new UserQuotaOptions();
        var command = new Command("quota", """
            Show the user's own quota limits and usage; with options, set them first. A limit not set here is the
            server's Quotas:* default (serve --help). Takes effect on the next batch, also on a running server.
            """)
        {
            userId,
            Terminal.JsonOption,
        };
        foreach (var option in quotas.All)
        {
            command.Options.Add(option);
        }

        command.SetAction(async (parse, ct) =>
        {
            var id = parse.GetValue(userId)!;
            await using var session = await StoreSession.OpenAsync(parse, create: false, ct);
            var store = session.Quotas;
            if (await store.GetQuotaOverrideAsync(id, ct) is not { } current)
            {
                return Terminal.Fail($"no user '{id}' in {session.Path}.");
            }

            if (quotas.AnyGiven(parse))
            {
                current = quotas.Apply(parse, current);
                await store.SetQuotaOverrideAsync(id, current, ct);
            }

            var dayStart = new DateTimeOffset(DateTime.UtcNow.Date, TimeSpan.Zero).ToUnixTimeMilliseconds();
            var usage = await store.GetUsageAsync(id, dayStart, withStoredBytes: true, ct);
            if (parse.GetValue(Terminal.JsonOption))
            {
                Terminal.WriteJson(new { userId = id, limits = current, usage = new { usage.Devices, samplesToday = usage.ItemsSince, usage.StoredBytes } });
                return 0;
            }

            var table = new Table().AddColumns("quota", "user's own limit", "usage");
            table.AddRow("devices", Limit(current.MaxDevices), Count(usage.Devices));
            table.AddRow("samples per day (UTC)", Limit(current.MaxSamplesPerDay), Count(usage.ItemsSince));
            table.AddRow("stored bytes", Limit(current.MaxStoredBytes), Count(usage.StoredBytes));
            Terminal.Out.Write(table);
            return 0;
        });
        return command;
    }

    private static string Limit(long? limit) => limit switch
    {
        null => "default",
        0 => "unlimited",
        var n => Count(n.Value),
    };

    private static string Count(long value) => value.ToString("N0", CultureInfo.InvariantCulture);
}
