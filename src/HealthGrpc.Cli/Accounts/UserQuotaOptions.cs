using System.CommandLine;
using HealthGrpc.Storage;

namespace HealthGrpc.Cli.Accounts;

/// <summary>
/// The per-user quota options of `user create` and `user quota`: each sets the user's own limit (0: unlimited for
/// this user); `default` puts the server's Quotas:* default back. Options not given keep what the user has.
/// </summary>
internal sealed class UserQuotaOptions
{
    public Option<string> Devices { get; } = LimitOption("--devices", "Devices that may commit for this user");

    public Option<string> SamplesPerDay { get; } = LimitOption("--samples-per-day", "Items stored per UTC day (samples, series, chunks, deletions, records)");

    public Option<string> StoredBytes { get; } = LimitOption("--stored-bytes", "Stored bytes (payloads plus 64 per row)");

    public IEnumerable<Option> All => [Devices, SamplesPerDay, StoredBytes];

    public bool AnyGiven(ParseResult parse) => All.Any(option => parse.GetResult(option) is not null);

    /// <summary>The user's overrides after this command line: given options replace, the rest stay.</summary>
    public QuotaOverride Apply(ParseResult parse, QuotaOverride current) => new(
        Value(parse, Devices, current.MaxDevices),
        Value(parse, SamplesPerDay, current.MaxSamplesPerDay),
        Value(parse, StoredBytes, current.MaxStoredBytes));

    private static long? Value(ParseResult parse, Option<string> option, long? current) => parse.GetValue(option) switch
    {
        null => current,
        "default" => null,
        var text => long.Parse(text, System.Globalization.CultureInfo.InvariantCulture),
    };

    private static Option<string> LimitOption(string name, string what)
    {
        var option = new Option<string>(name) { Description = $"{what}: N (0 = unlimited for this user) or 'default' (the server's Quotas:* setting)", HelpName = "N|default" };
        option.Validators.Add(result =>
        {
            var value = result.GetValueOrDefault<string>();
            if (value is not null && value != "default" && !(long.TryParse(value, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n) && n >= 0))
            {
                result.AddError($"{name}: '{value}' is neither a number >= 0 nor 'default'.");
            }
        });
        return option;
    }
}
