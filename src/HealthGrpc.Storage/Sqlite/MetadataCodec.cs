using System.Buffers;
using System.Text;
using System.Text.Json;

namespace HealthGrpc.Storage.Sqlite;

/// <summary>Sample metadata as a small JSON object (TEXT column, only when present), readable with SQLite's json functions.</summary>
internal static class MetadataCodec
{
    public static string? Encode(IReadOnlyDictionary<string, string>? metadata)
    {
        if (metadata is null || metadata.Count == 0)
        {
            return null;
        }

        var buffer = new ArrayBufferWriter<byte>(64);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            foreach (var (key, value) in metadata)
            {
                writer.WriteString(key, value);
            }

            writer.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    public static IReadOnlyDictionary<string, string>? Decode(string? json)
    {
        if (string.IsNullOrEmpty(json))
        {
            return null;
        }

        using var document = JsonDocument.Parse(json);
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var property in document.RootElement.EnumerateObject())
        {
            result[property.Name] = property.Value.GetString() ?? string.Empty;
        }

        return result;
    }
}
