using Microsoft.AspNetCore.Cors.Infrastructure;

namespace HealthGrpc.Server;

/// <summary>
/// CORS for web pages on other origins that call the gRPC-Web and JSON routes (<c>Cors:*</c>). A browser sends a
/// cross-origin gRPC-Web call only after a preflight that allows its headers, and lets the page read the gRPC status
/// only when the response exposes it (gRPC-Web sends a trailers-only answer, every error among them, as headers).
/// <c>Cors:AllowedOrigins</c>: origins (<c>https://app.example</c>), comma- or semicolon-separated or an array in
/// appsettings.json, or <c>*</c> for any; empty (the default): no cross-origin access. <c>Cors:AllowCredentials</c>
/// (default false): let pages send cookies; the bearer token travels in <c>authorization</c> and needs no credentials
/// mode. <c>*</c> with credentials is refused: it would let every site act with a visitor's cookies.
/// </summary>
internal static class CrossOriginPolicy
{
    /// <summary>What a gRPC-Web client (grpc-web, Connect, improbable-eng) and a JSON caller send.</summary>
    private static readonly string[] AllowedRequestHeaders = ["content-type", "x-grpc-web", "x-user-agent", "grpc-timeout", "authorization"];

    /// <summary>The status of a trailers-only gRPC-Web answer; without them a page sees every error as "unknown".</summary>
    private static readonly string[] ExposedResponseHeaders = ["grpc-status", "grpc-message", "grpc-status-details-bin"];

    /// <summary>gRPC-Web and the google.api.http routes are all POST; preflights themselves are OPTIONS.</summary>
    private static readonly string[] AllowedMethods = ["POST"];

    private const string AnyOrigin = "*";

    /// <summary>Registers the policy when origins are configured; false (and nothing registered) when none are.</summary>
    public static bool AddCrossOriginPolicy(this WebApplicationBuilder builder)
    {
        var origins = AllowedOrigins(builder.Configuration.GetSection("Cors:AllowedOrigins"));
        if (origins.Count == 0)
        {
            return false;
        }

        var credentials = builder.Configuration.GetValue("Cors:AllowCredentials", defaultValue: false);
        if (origins.Contains(AnyOrigin) && (credentials || origins.Count > 1))
        {
            throw new InvalidOperationException(credentials
                ? "Cors:AllowedOrigins '*' cannot be combined with Cors:AllowCredentials true: name the origins that may send credentials."
                : "Cors:AllowedOrigins '*' allows every origin: give it alone, not next to named origins.");
        }

        builder.Services.AddCors(cors => cors.AddDefaultPolicy(policy => Build(policy, origins, credentials)));
        return true;
    }

    private static void Build(CorsPolicyBuilder policy, List<string> origins, bool credentials)
    {
        if (origins[0] == AnyOrigin)
        {
            policy.AllowAnyOrigin();
        }
        else
        {
            policy.WithOrigins([.. origins]);
        }

        policy.WithMethods(AllowedMethods).WithHeaders(AllowedRequestHeaders).WithExposedHeaders(ExposedResponseHeaders);
        if (credentials)
        {
            policy.AllowCredentials();
        }
    }

    /// <summary>The configured origins, each checked: a browser's Origin header is scheme://host[:port], nothing after.</summary>
    private static List<string> AllowedOrigins(IConfigurationSection section)
    {
        var values = section.GetChildren().Select(child => child.Value).Append(section.Value)
            .SelectMany(value => (value ?? "").Split([',', ';'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            .Distinct(StringComparer.OrdinalIgnoreCase)
            .ToList();
        foreach (var origin in values.Where(origin => origin != AnyOrigin))
        {
            if (!Uri.TryCreate(origin, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || origin.EndsWith('/')
                || uri.AbsolutePath != "/" || uri.Query.Length > 0 || uri.Fragment.Length > 0 || uri.UserInfo.Length > 0)
            {
                throw new InvalidOperationException(
                    $"Cors:AllowedOrigins: '{origin}' is not an origin; write scheme://host[:port] with no path or trailing '/', e.g. https://app.example.");
            }
        }

        return values;
    }
}
