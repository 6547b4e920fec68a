using System.Collections.Concurrent;

namespace HealthGrpc.Interop.Tests.Infrastructure;

/// <summary>
/// Client-side wire probe: for requests carrying <see cref="CallIdHeader"/>, wraps the response body so the compressed
/// flag of every response message is recorded (the channel's <c>HttpHandler</c> override is the only hook needed).
/// </summary>
internal sealed class ResponseFlagHandler(HttpMessageHandler inner) : DelegatingHandler(inner)
{
    public const string CallIdHeader = "x-interop-call-id";

    private readonly ConcurrentDictionary<string, GrpcFrameFlagStream> _calls = new();

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var response = await base.SendAsync(request, cancellationToken);
        if (request.Headers.TryGetValues(CallIdHeader, out var ids))
        {
            var original = response.Content;
            var probe = new GrpcFrameFlagStream(await original.ReadAsStreamAsync(cancellationToken));
            var wrapped = new StreamContent(probe);
            foreach (var h in original.Headers)
            {
                wrapped.Headers.TryAddWithoutValidation(h.Key, h.Value);
            }

            response.Content = wrapped;
            _calls[ids.First()] = probe;
        }

        return response;
    }

    /// <summary>The compressed flags of the response messages of one call, in order.</summary>
    public bool[] FlagsOf(string callId) => _calls.TryGetValue(callId, out var probe) ? [.. probe.Flags] : [];
}
