using System.CommandLine;

namespace HealthGrpc.Cli.Shared;

/// <summary>`--server`, `--token` and `--allow-insecure`: how the client verbs (import, simulate) reach a server.</summary>
internal static class ServerOptions
{
    public static Option<string> Server() => new("--server")
    {
        Description = "The server, e.g. https://health.example.com or http://127.0.0.1:5000 (http:// only to a loopback host unless --allow-insecure)",
        HelpName = "URL",
        Required = true,
    };

    public static Option<string> Token() => new("--token")
    {
        Description = "Bearer token of the user the data belongs to (healthgrpc token create USER); default: $HEALTHGRPC_TOKEN",
        HelpName = "TOKEN",
    };

    public static Option<bool> AllowInsecure() => new("--allow-insecure")
    {
        Description = "Allow http:// (no TLS) to a non-loopback server: the token then travels in clear",
    };

    /// <summary>The server address and the token (the option, else $HEALTHGRPC_TOKEN); null values after an error was printed.</summary>
    public static (Uri? Server, string? Token) Resolve(ParseResult parse, Option<string> server, Option<string> token)
    {
        var text = parse.GetValue(server)!;
        if (!Uri.TryCreate(text, UriKind.Absolute, out var address) || (address.Scheme != Uri.UriSchemeHttp && address.Scheme != Uri.UriSchemeHttps))
        {
            Terminal.Fail($"--server {text}: expected an absolute http:// or https:// URL.");
            return (null, null);
        }

        var bearer = parse.GetValue(token) ?? Environment.GetEnvironmentVariable("HEALTHGRPC_TOKEN");
        if (string.IsNullOrWhiteSpace(bearer))
        {
            Terminal.Fail("no token: pass --token TOKEN or set HEALTHGRPC_TOKEN (healthgrpc token create USER issues one).");
            return (address, null);
        }

        return (address, bearer.Trim());
    }
}
