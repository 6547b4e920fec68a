using System.Globalization;
using Microsoft.Data.Sqlite;
using static HealthGrpc.Storage.Sqlite.SqliteCommands;

namespace HealthGrpc.Storage.Sqlite;

/// <summary>
/// <see cref="IAccountStore"/> on SQLite. Account changes are rare administrative writes, often from another process
/// (`healthgrpc token revoke` while the server runs): each runs in its own short IMMEDIATE transaction on its own
/// connection, outside the ingest writer's group commit, and SQLite's lock orders it with the writer's commits.
/// Triggers of <see cref="MigrationSql"/> advance auth_generation whenever a credential is taken away, whoever writes.
/// Reads run on a <see cref="SqliteReadRunner"/> like the store's other reads: off the caller's thread (every
/// authenticated call looks its token up), on pooled read-only connections, a bounded number at once.
/// </summary>
internal sealed class SqliteAccounts(string path, TimeSpan busyTimeout, SqliteReadRunner reads)
{
    /// <summary>Schema version 10: expiry and revocation of tokens, disabled users, the auth generation counter.</summary>
    public const string MigrationSql = """
        ALTER TABLE users ADD COLUMN disabled_ms INTEGER;
        ALTER TABLE tokens ADD COLUMN expires_ms INTEGER;
        ALTER TABLE tokens ADD COLUMN revoked_ms INTEGER;
        CREATE TABLE auth_generation (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            generation INTEGER NOT NULL
        );
        INSERT INTO auth_generation (id, generation) VALUES (1, 0);
        CREATE TRIGGER tokens_credential_changed AFTER UPDATE OF revoked_ms, expires_ms ON tokens
        BEGIN UPDATE auth_generation SET generation = generation + 1 WHERE id = 1; END;
        CREATE TRIGGER tokens_deleted AFTER DELETE ON tokens
        BEGIN UPDATE auth_generation SET generation = generation + 1 WHERE id = 1; END;
        CREATE TRIGGER users_disabled_changed AFTER UPDATE OF disabled_ms ON users
        BEGIN UPDATE auth_generation SET generation = generation + 1 WHERE id = 1; END;
        """;

    // The public id of a token: the first 6 bytes of its SHA-256 hash, lower-case hex.
    private const string TokenIdSql = "lower(hex(substr(t.token_hash, 1, 6)))";

    private const string TokenColumns = $"{TokenIdSql}, u.user_id, t.created_ms, t.expires_ms, t.revoked_ms";

    private readonly SqliteShortWrite _writes = new(SqliteSchema.WriterConnectionString(path, busyTimeout));

    public Task<UserAccount?> FindUserAsync(string userId, CancellationToken ct)
    {
        ArgumentException.ThrowIfNullOrEmpty(userId);
        return reads.RunAsync<UserAccount?>(
            connection =>
            {
                using var command = Command(connection, UserSelect + " WHERE u.user_id = $u", NowParameter, ("$u", userId));
                using var reader = command.ExecuteReader();
                return reader.Read() ? ReadUser(reader) : null;
            },
            ct);
    }

    public Task<IReadOnlyList<UserAccount>> ListUsersAsync(CancellationToken ct) => reads.RunAsync<IReadOnlyList<UserAccount>>(
        connection =>
        {
            using var command = Command(connection, UserSelect + " ORDER BY u.user_id", NowParameter);
            using var reader = command.ExecuteReader();
            var users = new List<UserAccount>();
            while (reader.Read())
            {
                users.Add(ReadUser(reader));
            }

            return users;
        },
        ct);

    public Task<bool> DisableUserAsync(string userId, CancellationToken ct)
    {
        ArgumentException.ThrowIfNullOrEmpty(userId);
        return _writes.RunAsync(connection =>
        {
            using var exists = Command(connection, "SELECT COUNT(*) FROM users WHERE user_id = $u", ("$u", userId));
            if (Convert.ToInt64(exists.ExecuteScalar(), CultureInfo.InvariantCulture) == 0)
            {
                return false;
            }

            using var disable = Command(connection, "UPDATE users SET disabled_ms = $t WHERE user_id = $u AND disabled_ms IS NULL",
                ("$t", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()), ("$u", userId));
            disable.ExecuteNonQuery();
            return true;
        }, ct);
    }

    public Task<TokenInfo?> IssueTokenAsync(string userId, ReadOnlyMemory<byte> tokenHash, DateTimeOffset? expiresAt, CancellationToken ct)
    {
        ArgumentException.ThrowIfNullOrEmpty(userId);
        if (tokenHash.Length < 6)
        {
            throw new ArgumentException("A token hash (SHA-256) is required.", nameof(tokenHash));
        }

        var hash = tokenHash.ToArray();
        var now = DateTimeOffset.UtcNow;
        return _writes.RunAsync(connection =>
        {
            using var insert = Command(
                connection,
                """
                INSERT INTO tokens (token_hash, user_ref, created_ms, expires_ms)
                SELECT $h, id, $t, $x FROM users WHERE user_id = $u
                """,
                ("$h", hash), ("$t", now.ToUnixTimeMilliseconds()), ("$x", expiresAt?.ToUnixTimeMilliseconds()), ("$u", userId));
            return insert.ExecuteNonQuery() == 0 ? null : FindToken(connection, hash);
        }, ct);
    }

    public Task<IReadOnlyList<TokenInfo>> ListTokensAsync(string? userId, CancellationToken ct) => reads.RunAsync<IReadOnlyList<TokenInfo>>(
        connection =>
        {
            using var command = Command(
                connection,
                $"SELECT {TokenColumns} FROM tokens t JOIN users u ON u.id = t.user_ref WHERE $u IS NULL OR u.user_id = $u ORDER BY t.created_ms, 1",
                ("$u", userId));
            using var reader = command.ExecuteReader();
            var tokens = new List<TokenInfo>();
            while (reader.Read())
            {
                tokens.Add(ReadToken(reader));
            }

            return tokens;
        },
        ct);

    public Task<TokenRevocation> RevokeTokenAsync(string tokenId, CancellationToken ct)
    {
        ArgumentException.ThrowIfNullOrEmpty(tokenId);
        var id = tokenId.Trim().ToLowerInvariant();
        return _writes.RunAsync(connection =>
        {
            using var find = Command(connection, $"SELECT t.token_hash, t.revoked_ms FROM tokens t WHERE {TokenIdSql} = $id", ("$id", id));
            var matches = new List<(byte[] Hash, bool Revoked)>();
            using (var reader = find.ExecuteReader())
            {
                while (reader.Read())
                {
                    matches.Add(((byte[])reader.GetValue(0), !reader.IsDBNull(1)));
                }
            }

            switch (matches)
            {
                case []:
                    return TokenRevocation.NotFound;
                case [_, _, ..]:
                    return TokenRevocation.Ambiguous;
                case [{ Revoked: true }]:
                    return TokenRevocation.AlreadyRevoked;
            }

            using var revoke = Command(connection, "UPDATE tokens SET revoked_ms = $t WHERE token_hash = $h",
                ("$t", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()), ("$h", matches[0].Hash));
            revoke.ExecuteNonQuery();
            return TokenRevocation.Revoked;
        }, ct);
    }

    public Task<Credential?> FindCredentialAsync(ReadOnlyMemory<byte> tokenHash, CancellationToken ct)
    {
        var hash = tokenHash.ToArray();
        return reads.RunAsync<Credential?>(
            connection =>
            {
                using var command = Command(
                    connection,
                    $"SELECT u.user_id, {TokenIdSql}, t.expires_ms, t.revoked_ms, u.disabled_ms FROM tokens t JOIN users u ON u.id = t.user_ref WHERE t.token_hash = $h",
                    ("$h", hash));
                using var reader = command.ExecuteReader();
                return reader.Read()
                    ? new Credential(reader.GetString(0), reader.GetString(1), Time(reader, 2), Time(reader, 3), Time(reader, 4))
                    : null;
            },
            ct);
    }

    public Task<long> GetAuthGenerationAsync(CancellationToken ct) => reads.RunAsync(
        connection =>
        {
            using var command = Command(connection, "SELECT generation FROM auth_generation WHERE id = 1");
            return Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture);
        },
        ct);

    private const string UserSelect = """
        SELECT u.user_id, u.created_ms, u.disabled_ms,
               (SELECT COUNT(*) FROM tokens t WHERE t.user_ref = u.id AND t.revoked_ms IS NULL AND (t.expires_ms IS NULL OR t.expires_ms > $now))
        FROM users u
        """;

    private static (string, object?) NowParameter => ("$now", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());

    private static UserAccount ReadUser(SqliteDataReader reader) =>
        new(reader.GetString(0), Time(reader, 1)!.Value, Time(reader, 2), reader.GetInt32(3));

    private static TokenInfo ReadToken(SqliteDataReader reader) =>
        new(reader.GetString(0), reader.GetString(1), Time(reader, 2)!.Value, Time(reader, 3), Time(reader, 4));

    private static TokenInfo? FindToken(SqliteConnection connection, byte[] hash)
    {
        using var command = Command(connection, $"SELECT {TokenColumns} FROM tokens t JOIN users u ON u.id = t.user_ref WHERE t.token_hash = $h", ("$h", hash));
        using var reader = command.ExecuteReader();
        return reader.Read() ? ReadToken(reader) : null;
    }

    private static DateTimeOffset? Time(SqliteDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? null : DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(ordinal));
}
