using System.CommandLine;
using System.Globalization;

namespace HealthGrpc.Cli.Serve;

/// <summary>
/// One server configuration key shown in `serve --help` as an option of the same name (`--Ingest:MaxSamplesPerBatch`),
/// passed to the host as `--Key value`, so the option, appsettings.json and HEALTHGRPC_Key__Sub variables are one setting.
/// </summary>
internal sealed class HostSetting
{
    private HostSetting(string key, string description, string helpName, Func<string, bool> isValid)
    {
        Key = key;
        Option = new Option<string>("--" + key) { Description = description, HelpName = helpName };
        Option.Validators.Add(result =>
        {
            var value = result.GetValueOrDefault<string>();
            if (value is not null && !isValid(value))
            {
                result.AddError($"--{key}: '{value}' is not a valid {helpName}.");
            }
        });
    }

    public string Key { get; }

    public Option<string> Option { get; }

    public static HostSetting Integer(string key, string description) =>
        new(key, description, "INT", v => long.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n > 0);

    public static HostSetting Boolean(string key, string description) => new(key, description, "true|false", v => bool.TryParse(v, out _));

    public static HostSetting Duration(string key, string description) =>
        new(key, description, "hh:mm:ss", v => TimeSpan.TryParse(v, CultureInfo.InvariantCulture, out var t) && t >= TimeSpan.Zero);

    public static HostSetting Text(string key, string description, string helpName) => new(key, description, helpName, _ => true);
}
