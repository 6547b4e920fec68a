using System.Buffers.Binary;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Google.Protobuf;
using HealthGrpc.Contracts.V1;

namespace HealthGrpc.Server.Tests;

/// <summary>
/// A gRPC-Web peer written from the protocol text, not a gRPC library: HTTP/1.1 POSTs of
/// <c>application/grpc-web+proto</c>, each message a 5-byte-prefixed frame, the trailers a last frame flagged 0x80 (or,
/// for a trailers-only answer, the response headers). What a browser or an HTTP/1.1-only gateway sends. With
/// <paramref name="text"/>, <c>application/grpc-web-text</c>: the same frames base64-encoded both ways, the default mode
/// of the grpc-web JavaScript client.
/// </summary>
internal sealed class GrpcWebClient(Uri address, bool text = false) : IDisposable
{
    private readonly HttpClient _http = new() { Timeout = TestTimeouts.Default };

    public async Task<GrpcWebResponse<TResponse>> CallAsync<TResponse>(string method, IMessage request, MessageParser<TResponse> parser, string? token)
        where TResponse : IMessage<TResponse>
    {
        var payload = request.ToByteArray();
        var body = new byte[5 + payload.Length];
        BinaryPrimitives.WriteInt32BigEndian(body.AsSpan(1), payload.Length);
        payload.CopyTo(body, 5);
        using var message = new HttpRequestMessage(HttpMethod.Post, new Uri(address, method))
        {
            Version = HttpVersion.Version11,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = text ? new StringContent(Convert.ToBase64String(body), Encoding.ASCII) : new ByteArrayContent(body),
        };
        message.Content.Headers.ContentType = new MediaTypeHeaderValue(text ? "application/grpc-web-text" : "application/grpc-web+proto");
        message.Headers.Add("x-grpc-web", "1");
        if (token is not null)
        {
            message.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        using var response = await _http.SendAsync(message).Bounded();
        var bytes = await response.Content.ReadAsByteArrayAsync().Bounded();
        if (text && response.Content.Headers.ContentType?.MediaType == "application/grpc-web-text")
        {
            bytes = DecodeBase64Parts(Encoding.ASCII.GetString(bytes));
        }

        var trailers = response.Headers.Where(header => header.Key.StartsWith("grpc-", StringComparison.OrdinalIgnoreCase))
            .ToDictionary(header => header.Key.ToLowerInvariant(), header => header.Value.First(), StringComparer.Ordinal);
        var messages = new List<TResponse>();
        var framed = response.Content.Headers.ContentType?.MediaType?.StartsWith("application/grpc-web", StringComparison.Ordinal) == true;
        for (var offset = 0; framed && offset + 5 <= bytes.Length;)
        {
            var flags = bytes[offset];
            var length = BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(offset + 1));
            var frame = bytes.AsSpan(offset + 5, length);
            if ((flags & 0x80) != 0)
            {
                foreach (var line in Encoding.ASCII.GetString(frame).Split("\r\n", StringSplitOptions.RemoveEmptyEntries))
                {
                    var colon = line.IndexOf(':', StringComparison.Ordinal);
                    trailers[line[..colon].Trim().ToLowerInvariant()] = line[(colon + 1)..].Trim();
                }
            }
            else
            {
                messages.Add(parser.ParseFrom(frame));
            }

            offset += 5 + length;
        }

        return new GrpcWebResponse<TResponse>(response.StatusCode, response.Version, messages, trailers);
    }

    public void Dispose() => _http.Dispose();

    /// <summary>A grpc-web-text body: one or more padded base64 parts back to back (the server may encode each frame alone).</summary>
    private static byte[] DecodeBase64Parts(string body)
    {
        var bytes = new List<byte>();
        for (var start = 0; start < body.Length;)
        {
            // A part ends with the first group of 4 that ends in '=' (or with the body).
            var end = start;
            while (end + 4 <= body.Length)
            {
                end += 4;
                if (body[end - 1] == '=')
                {
                    break;
                }
            }

            bytes.AddRange(Convert.FromBase64String(body[start..end]));
            start = end;
        }

        return [.. bytes];
    }
}

/// <summary>A gRPC-Web answer: HTTP status and version, the messages, and the gRPC status from the trailers.</summary>
internal sealed record GrpcWebResponse<TResponse>(HttpStatusCode HttpStatus, Version HttpVersion, IReadOnlyList<TResponse> Messages, IReadOnlyDictionary<string, string> Trailers)
{
    public int GrpcStatus => Trailers.TryGetValue("grpc-status", out var status) ? int.Parse(status, System.Globalization.CultureInfo.InvariantCulture) : -1;

    public TResponse Message => Messages.Count == 1 ? Messages[0] : throw new Xunit.Sdk.XunitException($"{Messages.Count} messages, grpc-status {GrpcStatus}");

    /// <summary>The ErrorDetail in grpc-status-details-bin, as a gRPC-Web client library decodes it.</summary>
    public ErrorDetail Detail()
    {
        var base64 = Trailers["grpc-status-details-bin"];
        var status = Google.Rpc.Status.Parser.ParseFrom(Convert.FromBase64String(base64.PadRight((base64.Length + 3) / 4 * 4, '=')));
        return status.Details.Single().Unpack<ErrorDetail>();
    }
}
