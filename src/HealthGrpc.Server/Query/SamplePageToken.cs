using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using HealthGrpc.Storage;

namespace HealthGrpc.Server.Query;

/// <summary>
/// The opaque ReadSamples page token: where the next page starts (the last item's <see cref="SampleReadPosition"/>),
/// the change sequence the first page was read at (later pages read the same data), and a fingerprint of the query
/// (owner, types, source kinds, range) so a token is refused with any other query or user. Base64url of
/// version(1) | fingerprint(8) | snapshot(8) | start(8) | kind(1) | uuid(16) | chunk(4), all big-endian. Not secret:
/// forging one only moves the start within the caller's own query.
/// </summary>
internal static class SamplePageToken
{
    private const byte Version = 1;
    private const int Length = 1 + 8 + 8 + 8 + 1 + 16 + 4;

    public static string Encode(ulong fingerprint, long snapshot, SampleReadPosition after)
    {
        Span<byte> bytes = stackalloc byte[Length];
        bytes[0] = Version;
        BinaryPrimitives.WriteUInt64BigEndian(bytes[1..], fingerprint);
        BinaryPrimitives.WriteInt64BigEndian(bytes[9..], snapshot);
        BinaryPrimitives.WriteInt64BigEndian(bytes[17..], after.StartUnixMs);
        bytes[25] = (byte)after.Kind;
        after.Uuid.TryWriteBytes(bytes[26..42], bigEndian: true, out _);
        BinaryPrimitives.WriteUInt32BigEndian(bytes[42..], after.ChunkIndex);
        return Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
    }

    /// <summary>The snapshot and position of a token issued for the query with <paramref name="fingerprint"/>.</summary>
    public static (long Snapshot, SampleReadPosition After) Decode(string token, ulong fingerprint)
    {
        var bytes = FromBase64Url(token);
        if (bytes is null || bytes.Length != Length || bytes[0] != Version)
        {
            throw QueryRejectedException.Invalid("page_token", "is not a token this server issued.");
        }

        if (BinaryPrimitives.ReadUInt64BigEndian(bytes.AsSpan(1)) != fingerprint)
        {
            throw QueryRejectedException.Invalid(
                "page_token", "belongs to another query: owner_user_id, types, start_time, end_time and source_kinds must stay as on the first page.");
        }

        var snapshot = BinaryPrimitives.ReadInt64BigEndian(bytes.AsSpan(9));
        var kind = (SampleItemKind)bytes[25];
        if (snapshot < 0 || !System.Enum.IsDefined(kind))
        {
            throw QueryRejectedException.Invalid("page_token", "is not a token this server issued.");
        }

        var position = new SampleReadPosition(
            BinaryPrimitives.ReadInt64BigEndian(bytes.AsSpan(17)),
            kind,
            new Guid(bytes.AsSpan(26, 16), bigEndian: true),
            BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(42)));
        return (snapshot, position);
    }

    /// <summary>A hash of what defines the result set: a token is only valid for the query that issued it.</summary>
    public static ulong Fingerprint(string ownerUserId, IEnumerable<int> types, IEnumerable<int> sourceKinds, long fromUnixMs, long toUnixMs)
    {
        var text = new StringBuilder(ownerUserId.Length + 64)
            .Append(ownerUserId).Append('\n')
            .AppendJoin(',', types.Distinct().Order()).Append('\n')
            .AppendJoin(',', sourceKinds.Distinct().Order()).Append('\n')
            .Append(fromUnixMs).Append('\n').Append(toUnixMs);
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString()), hash);
        return BinaryPrimitives.ReadUInt64BigEndian(hash);
    }

    private static byte[]? FromBase64Url(string token)
    {
        if (token.Length > 128)
        {
            return null;
        }

        var base64 = token.Replace('-', '+').Replace('_', '/');
        base64 = base64.PadRight(base64.Length + ((4 - (base64.Length % 4)) % 4), '=');
        var bytes = new byte[base64.Length];
        return Convert.TryFromBase64String(base64, bytes, out var written) ? bytes[..written] : null;
    }
}
