using System.Net;

namespace HealthGrpc.Server;

/// <summary>
/// Bearer tokens must not cross a network in clear by accident: an <c>http://</c> (h2c) address other than loopback
/// is refused at startup unless <c>Server:AllowPlaintextOnNetwork</c> is true (e.g. behind a TLS-terminating proxy).
/// </summary>
internal static class PlaintextBindingGuard
{
    public const string OptInKey = "Server:AllowPlaintextOnNetwork";

    public static void Check(IConfiguration configuration)
    {
        if (configuration.GetValue(OptInKey, defaultValue: false))
        {
            return;
        }

        var urls = (configuration["urls"] ?? string.Empty).Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Concat(configuration.GetSection("Kestrel:Endpoints").GetChildren().Select(endpoint => endpoint["Url"]).OfType<string>());
        foreach (var url in urls)
        {
            if (url.StartsWith("http://", StringComparison.OrdinalIgnoreCase) && !IsLoopback(url))
            {
                throw new InvalidOperationException(
                    $"Refusing to serve plaintext h2c on '{url}': bearer tokens would travel unencrypted. Configure a TLS endpoint " +
                    $"(Kestrel:Endpoints:<name>:Url https://... with a certificate), bind 127.0.0.1, or set {OptInKey}=true " +
                    "when a TLS-terminating proxy is in front.");
            }
        }
    }

    private static bool IsLoopback(string url)
    {
        // Kestrel accepts wildcard hosts (http://*:5000, http://+:5000) that Uri cannot parse: those bind every interface.
        var host = url["http://".Length..].Split('/')[0];
        host = host.StartsWith('[') ? host[1..host.IndexOf(']', StringComparison.Ordinal)] : host.Split(':')[0];
        return host.Equals("localhost", StringComparison.OrdinalIgnoreCase) || (IPAddress.TryParse(host, out var address) && IPAddress.IsLoopback(address));
    }
}
