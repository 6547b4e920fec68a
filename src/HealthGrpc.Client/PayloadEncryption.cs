using System.Security.Cryptography;
using Microsoft.Data.Sqlite;

namespace HealthGrpc.Client;

/// <summary>
/// Decides on open whether the store's payloads are encrypted, and with which key. The store remembers that it is
/// encrypted (meta <c>payload_cipher</c>) and a check blob sealed with its key, so a missing or wrong key is refused at
/// open, never half-way through a drain. A plaintext store opened with a key is encrypted in place, in one transaction.
/// </summary>
internal static class PayloadEncryption
{
    private const string CipherName = "aes-256-gcm";
    private static readonly byte[] CheckPlaintext = "healthgrpc queue key check"u8.ToArray();

    public static async Task<PayloadCipher> OpenAsync(SqliteConnection db, string path, IQueueKeyProvider? keys, CancellationToken ct)
    {
        var check = await ReadMetaAsync(db, "payload_key_check", ct).ConfigureAwait(false);
        var encrypted = await ReadMetaAsync(db, "payload_cipher", ct).ConfigureAwait(false) == CipherName;
        if (keys is null)
        {
            return encrypted
                ? throw new LocalStoreException($"The local store '{path}' is encrypted: open it with the {nameof(HealthSyncOptions.QueueKeyProvider)} that encrypted it.") { DatabasePath = path }
                : PayloadCipher.None;
        }

        var key = await keys.GetKeyAsync(path, ct).ConfigureAwait(false);
        var cipher = PayloadCipher.FromKey(key.Span);
        try
        {
            if (encrypted)
            {
                try
                {
                    cipher.Open(Convert.FromBase64String(check ?? ""));
                }
                catch (Exception e) when (e is CryptographicException or FormatException)
                {
                    throw new LocalStoreException($"The local store '{path}' was encrypted with another key than the one the key provider gave: nothing can be read.", e) { DatabasePath = path };
                }

                return cipher;
            }

            await EncryptInPlaceAsync(db, cipher, ct).ConfigureAwait(false);
            return cipher;
        }
        catch
        {
            cipher.Dispose();
            throw;
        }
    }

    /// <summary>Seals every payload of a plaintext store and marks it encrypted, in one transaction.</summary>
    private static async Task EncryptInPlaceAsync(SqliteConnection db, PayloadCipher cipher, CancellationToken ct)
    {
        using var tx = db.BeginTransaction();
        var rows = new List<(long Id, byte[] Payload)>();
        using (var read = db.CreateCommand())
        {
            read.Transaction = tx;
            read.CommandText = "SELECT id, payload FROM batches";
            using var r = await read.ExecuteReaderAsync(ct).ConfigureAwait(false);
            while (await r.ReadAsync(ct).ConfigureAwait(false))
            {
                rows.Add((r.GetInt64(0), (byte[])r.GetValue(1)));
            }
        }

        using (var update = db.CreateCommand())
        {
            update.Transaction = tx;
            update.CommandText = "UPDATE batches SET payload=$p WHERE id=$id";
            var pPayload = update.Parameters.Add("$p", SqliteType.Blob);
            var pId = update.Parameters.Add("$id", SqliteType.Integer);
            foreach (var (id, payload) in rows)
            {
                pPayload.Value = cipher.Seal(payload);
                pId.Value = id;
                await update.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            }
        }

        await WriteMetaAsync(db, tx, "payload_key_check", Convert.ToBase64String(cipher.Seal(CheckPlaintext)), ct).ConfigureAwait(false);
        await WriteMetaAsync(db, tx, "payload_cipher", CipherName, ct).ConfigureAwait(false);
        tx.Commit();
    }

    private static async Task<string?> ReadMetaAsync(SqliteConnection db, string key, CancellationToken ct)
    {
        using var cmd = db.CreateCommand();
        cmd.CommandText = "SELECT value FROM meta WHERE key=$k";
        cmd.Parameters.AddWithValue("$k", key);
        return await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false) as string;
    }

    private static async Task WriteMetaAsync(SqliteConnection db, SqliteTransaction tx, string key, string value, CancellationToken ct)
    {
        using var cmd = db.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = "INSERT INTO meta(key, value) VALUES($k, $v) ON CONFLICT(key) DO UPDATE SET value=excluded.value";
        cmd.Parameters.AddWithValue("$k", key);
        cmd.Parameters.AddWithValue("$v", value);
        await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }
}
