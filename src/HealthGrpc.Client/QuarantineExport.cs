using System.Text.Json;
using Google.Protobuf;

namespace HealthGrpc.Client;

/// <summary>Writes the quarantine as JSON lines, page by page (a large quarantine never sits in memory at once).</summary>
internal static class QuarantineExport
{
    private const int PageSize = 500;

    public static async Task<int> WriteAsync(SyncStore store, Stream destination, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(destination);
        var formatter = new JsonFormatter(JsonFormatter.Settings.Default.WithFormatDefaultValues(false));
        var written = 0;
        long after = 0;
        while (true)
        {
            var page = await store.GetQuarantineAsync(after, PageSize, ct).ConfigureAwait(false);
            foreach (var item in page)
            {
                await destination.WriteAsync(Line(item, formatter.Format(item.Content)), ct).ConfigureAwait(false);
                written++;
                after = item.Id;
            }

            if (page.Count < PageSize)
            {
                await destination.FlushAsync(ct).ConfigureAwait(false);
                return written;
            }
        }
    }

    /// <summary>One quarantined batch as a JSON object and a newline.</summary>
    private static byte[] Line(QuarantinedItem item, string contentJson)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteNumber("id", item.Id);
            w.WriteString("tier", item.Tier.ToString());
            w.WriteNumber("items", item.ItemCount);
            w.WriteString("reason", item.Reason);
            if (item.RejectReason is { } r)
            {
                w.WriteString("rejectReason", r.ToString());
            }

            w.WriteString("enqueuedAt", item.EnqueuedAt);
            w.WriteString("quarantinedAt", item.QuarantinedAt);
            w.WritePropertyName("content");
            w.WriteRawValue(contentJson, skipInputValidation: true);
            w.WriteEndObject();
        }

        buffer.WriteByte((byte)'\n');
        return buffer.ToArray();
    }
}
