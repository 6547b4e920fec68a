using System.CommandLine;
using HealthGrpc.Cli.Shared;
using HealthGrpc.Contracts.V1;
using Spectre.Console;

namespace HealthGrpc.Cli.Accounts;

/// <summary>`healthgrpc user source-priority USER [KIND...] [--default]`: show, and with kinds or --default first set, the user's source priority.</summary>
internal static class UserSourcePriorityCommand
{
    private static readonly DeviceKind[] Kinds = Enum.GetValues<DeviceKind>().Where(kind => kind != DeviceKind.Unspecified).ToArray();

    public static Command Build()
    {
        var userId = new Argument<string>("user-id") { Description = "The user" };
        var kinds = new Argument<string[]>("kinds")
        {
            Description = $"Device kinds, highest first ({string.Join(", ", Kinds.Select(Name))}); kinds not listed rank after them in the default order",
            Arity = ArgumentArity.ZeroOrMore,
        };
        var reset = new Option<bool>("--default") { Description = "Forget the user's order: the default (watch > phone > wearable > scale > medical-device > app > manual) applies again" };
        var command = new Command("source-priority", """
            Show the user's source priority: the order of device kinds GetAggregates uses to pick one source per
            15-minute slot when a request names none; with kinds (or --default), store it first. Takes effect on the
            next GetAggregates, also on a running server.
            """)
        {
            userId,
            kinds,
            reset,
            Terminal.JsonOption,
        };
        command.SetAction(async (parse, ct) =>
        {
            var id = parse.GetValue(userId)!;
            var given = parse.GetValue(kinds) ?? [];
            if (given.Length > 0 && parse.GetValue(reset))
            {
                return Terminal.Fail("give kinds or --default, not both.");
            }

            var order = new List<int>();
            foreach (var name in given)
            {
                if (Parse(name) is not { } kind)
                {
                    return Terminal.Fail($"'{name}' is not a device kind; use one of {string.Join(", ", Kinds.Select(Name))}.");
                }

                if (order.Contains((int)kind))
                {
                    return Terminal.Fail($"'{name}' is listed twice; list each kind at most once.");
                }

                order.Add((int)kind);
            }

            await using var session = await StoreSession.OpenAsync(parse, create: false, ct);
            var store = session.SourcePriorities;
            if ((given.Length > 0 || parse.GetValue(reset)) && !await store.SetSourcePriorityAsync(id, order, ct))
            {
                return Terminal.Fail($"no user '{id}' in {session.Path}.");
            }

            if (await store.GetSourcePriorityAsync(id, ct) is not { } stored)
            {
                return Terminal.Fail($"no user '{id}' in {session.Path}.");
            }

            var names = stored.Select(kind => Name((DeviceKind)kind)).ToArray();
            if (parse.GetValue(Terminal.JsonOption))
            {
                Terminal.WriteJson(new { userId = id, sourcePriority = names, isDefault = names.Length == 0 });
                return 0;
            }

            var shown = names.Length == 0 ? $"default order ({string.Join(" > ", Kinds.Select(Name))})" : $"{string.Join(" > ", names)}, then the default order";
            Terminal.Out.MarkupLineInterpolated($"{id}: {shown}");
            return 0;
        });
        return command;
    }

    /// <summary>The kind's name as the command takes it: <c>watch</c>, <c>medical-device</c>.</summary>
    private static string Name(DeviceKind kind) => kind switch
    {
        DeviceKind.MedicalDevice => "medical-device",
        _ => kind.ToString().ToLowerInvariant(),
    };

    /// <summary>A kind by its command name, C# name or proto name (<c>medical-device</c>, <c>MedicalDevice</c>, <c>DEVICE_KIND_MEDICAL_DEVICE</c>).</summary>
    private static DeviceKind? Parse(string name)
    {
        var key = name.Replace("_", string.Empty, StringComparison.Ordinal).Replace("-", string.Empty, StringComparison.Ordinal);
        if (key.StartsWith("DEVICEKIND", StringComparison.OrdinalIgnoreCase))
        {
            key = key["DEVICEKIND".Length..];
        }

        return Kinds.Where(kind => string.Equals(kind.ToString(), key, StringComparison.OrdinalIgnoreCase)).Select(kind => (DeviceKind?)kind).FirstOrDefault();
    }
}
