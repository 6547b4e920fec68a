using System.Globalization;
using Microsoft.Data.Sqlite;
using static HealthGrpc.Storage.Sqlite.SqliteCommands;

namespace HealthGrpc.Storage.Sqlite;

/// <summary>
/// <see cref="IGrantStore"/> on SQLite. Grants and audit entries are small writes outside the ingest writer's group
/// commit: each runs in its own short IMMEDIATE transaction (<see cref="SqliteShortWrite"/>), often from another process
/// (`healthgrpc grant revoke`). Triggers of <see cref="MigrationSql"/> advance auth_generation when a grant is revoked
/// or its expiry changes, whoever writes, so servers holding it open notice. Every call runs off the caller's thread
/// (Microsoft.Data.Sqlite does no asynchronous I/O).
/// </summary>
internal sealed class SqliteGrants(string path, TimeSpan busyTimeout)
{
    /// <summary>Schema version 11: sharing grants (to a user or by share-code hash) and the audit log of reads through them.</summary>
    public const string MigrationSql = """
        CREATE TABLE grants (
            id INTEGER PRIMARY KEY,
            grant_id TEXT NOT NULL UNIQUE,
            owner_ref INTEGER NOT NULL REFERENCES users(id),
            grantee_ref INTEGER REFERENCES users(id),
            share_code_hash BLOB UNIQUE,
            types TEXT NOT NULL,
            data_start_ms INTEGER,
            data_end_ms INTEGER,
            expires_ms INTEGER NOT NULL,
            created_ms INTEGER NOT NULL,
            revoked_ms INTEGER,
            CHECK ((grantee_ref IS NULL) <> (share_code_hash IS NULL))
        );
        CREATE INDEX grants_owner ON grants (owner_ref, created_ms);
        CREATE INDEX grants_grantee ON grants (grantee_ref, owner_ref) WHERE grantee_ref IS NOT NULL;
        CREATE TABLE grant_access (
            id INTEGER PRIMARY KEY,
            grant_ref INTEGER NOT NULL REFERENCES grants(id),
            owner_ref INTEGER NOT NULL REFERENCES users(id),
            reader_ref INTEGER REFERENCES users(id),
            method TEXT NOT NULL,
            types TEXT NOT NULL,
            data_start_ms INTEGER,
            data_end_ms INTEGER,
            at_ms INTEGER NOT NULL
        );
        CREATE INDEX grant_access_owner ON grant_access (owner_ref, id);
        CREATE INDEX grant_access_grant ON grant_access (grant_ref, id);
        CREATE TRIGGER grants_access_changed AFTER UPDATE OF revoked_ms, expires_ms ON grants
        BEGIN UPDATE auth_generation SET generation = generation + 1 WHERE id = 1; END;
        CREATE TRIGGER grants_deleted AFTER DELETE ON grants
        BEGIN UPDATE auth_generation SET generation = generation + 1 WHERE id = 1; END;
        """;

    private const string GrantSelect = """
        SELECT g.grant_id, o.user_id, e.user_id, g.types, g.data_start_ms, g.data_end_ms, g.expires_ms, g.created_ms, g.revoked_ms
        FROM grants g JOIN users o ON o.id = g.owner_ref LEFT JOIN users e ON e.id = g.grantee_ref
        """;

    private readonly string _readConnectionString = SqliteSchema.ReaderConnectionString(path, busyTimeout);
    private readonly SqliteShortWrite _write = new(SqliteSchema.WriterConnectionString(path, busyTimeout));

    public Task<GrantCreation> CreateGrantAsync(NewGrant grant, CancellationToken ct)
    {
        if ((grant.GranteeUserId is null) == (grant.ShareCodeHash is not { Length: > 0 }))
        {
            throw new ArgumentException("A grant has either a grantee user or a share-code hash.", nameof(grant));
        }

        return _write.RunAsync(connection => Insert(connection, grant), ct);
    }

    private static GrantCreation Insert(SqliteConnection connection, NewGrant grant)
    {
        using var insert = Command(
            connection,
            """
            INSERT INTO grants (grant_id, owner_ref, grantee_ref, share_code_hash, types, data_start_ms, data_end_ms, expires_ms, created_ms)
            SELECT $id, o.id, e.id, $code, $types, $from, $to, $expires, $created
            FROM users o LEFT JOIN users e ON e.user_id = $grantee
            WHERE o.user_id = $owner AND ($grantee IS NULL OR e.id IS NOT NULL)
            """,
            ("$id", grant.GrantId), ("$owner", grant.OwnerUserId), ("$grantee", grant.GranteeUserId),
            ("$code", grant.ShareCodeHash?.ToArray()), ("$types", TypeList.Format(grant.Types)),
            ("$from", Ms(grant.DataStart)), ("$to", Ms(grant.DataEnd)),
            ("$expires", grant.ExpiresAt.ToUnixTimeMilliseconds()), ("$created", grant.CreatedAt.ToUnixTimeMilliseconds()));
        if (insert.ExecuteNonQuery() == 1)
        {
            return GrantCreation.Created;
        }

        using var owner = Command(connection, "SELECT COUNT(*) FROM users WHERE user_id = $u", ("$u", grant.OwnerUserId));
        return Convert.ToInt64(owner.ExecuteScalar(), CultureInfo.InvariantCulture) == 0 ? GrantCreation.UnknownOwner : GrantCreation.UnknownGrantee;
    }

    public Task<GrantRecord?> FindGrantAsync(string grantId, CancellationToken ct) =>
        ReadAsync(connection => Single(connection, GrantSelect + " WHERE g.grant_id = $id", ("$id", grantId)), ct);

    public Task<GrantRecord?> FindShareCodeGrantAsync(ReadOnlyMemory<byte> shareCodeHash, CancellationToken ct)
    {
        var hash = shareCodeHash.ToArray();
        return ReadAsync(connection => Single(connection, GrantSelect + " WHERE g.share_code_hash = $h", ("$h", hash)), ct);
    }

    public Task<IReadOnlyList<GrantRecord>> FindActiveGrantsAsync(string ownerUserId, string granteeUserId, DateTimeOffset now, CancellationToken ct) =>
        ReadAsync<IReadOnlyList<GrantRecord>>(connection => Many(
            connection,
            GrantSelect + """
                 WHERE o.user_id = $owner AND e.user_id = $grantee
                   AND g.revoked_ms IS NULL AND g.expires_ms > $now
                 ORDER BY g.id
                """,
            ("$owner", ownerUserId), ("$grantee", granteeUserId), ("$now", now.ToUnixTimeMilliseconds())), ct);

    public Task<IReadOnlyList<GrantRecord>> ListGrantsAsync(string? userId, GrantSide side, bool includeInactive, DateTimeOffset now, CancellationToken ct)
    {
        var sideSql = side switch
        {
            GrantSide.Owner => "o.user_id = $u",
            GrantSide.Grantee => "e.user_id = $u",
            _ => "(o.user_id = $u OR e.user_id = $u)",
        };
        return ReadAsync<IReadOnlyList<GrantRecord>>(connection => Many(
            connection,
            GrantSelect + $"""
                 WHERE ($u IS NULL OR {sideSql})
                   AND ($all = 1 OR (g.revoked_ms IS NULL AND g.expires_ms > $now))
                 ORDER BY g.created_ms DESC, g.id DESC
                """,
            ("$u", userId), ("$all", includeInactive ? 1 : 0), ("$now", now.ToUnixTimeMilliseconds())), ct);
    }

    public Task<GrantRevocation> RevokeGrantAsync(string grantId, string? ownerUserId, DateTimeOffset now, CancellationToken ct) => _write.RunAsync(connection =>
    {
        using var find = Command(
            connection,
            "SELECT g.id, g.revoked_ms FROM grants g JOIN users o ON o.id = g.owner_ref WHERE g.grant_id = $id AND ($owner IS NULL OR o.user_id = $owner)",
            ("$id", grantId), ("$owner", ownerUserId));
        using var reader = find.ExecuteReader();
        if (!reader.Read())
        {
            return GrantRevocation.NotFound;
        }

        if (!reader.IsDBNull(1))
        {
            return GrantRevocation.AlreadyRevoked;
        }

        using var revoke = Command(connection, "UPDATE grants SET revoked_ms = $t WHERE id = $g", ("$t", now.ToUnixTimeMilliseconds()), ("$g", reader.GetInt64(0)));
        revoke.ExecuteNonQuery();
        return GrantRevocation.Revoked;
    }, ct);

    public Task RecordAccessAsync(GrantAccess access, CancellationToken ct) => _write.RunAsync(connection =>
    {
        using var insert = Command(
            connection,
            """
            INSERT INTO grant_access (grant_ref, owner_ref, reader_ref, method, types, data_start_ms, data_end_ms, at_ms)
            SELECT g.id, g.owner_ref, (SELECT id FROM users WHERE user_id = $reader), $method, $types, $from, $to, $at
            FROM grants g WHERE g.grant_id = $grant
            """,
            ("$grant", null), ("$reader", access.ReaderUserId), ("$method", access.Method), ("$types", TypeList.Format(access.Types)),
            ("$from", Ms(access.DataStart)), ("$to", Ms(access.DataEnd)), ("$at", access.At.ToUnixTimeMilliseconds()));
        foreach (var grantId in access.GrantIds)
        {
            insert.Parameters["$grant"].Value = grantId;
            insert.ExecuteNonQuery();
        }

        return true;
    }, ct);

    public Task<IReadOnlyList<GrantAccessRecord>> ListAccessAsync(string ownerUserId, string? grantId, long? beforeId, int limit, CancellationToken ct) =>
        ReadAsync<IReadOnlyList<GrantAccessRecord>>(connection =>
        {
            using var command = Command(
                connection,
                """
                SELECT a.id, g.grant_id, o.user_id, r.user_id, a.method, a.types, a.data_start_ms, a.data_end_ms, a.at_ms
                FROM grant_access a
                JOIN grants g ON g.id = a.grant_ref
                JOIN users o ON o.id = a.owner_ref
                LEFT JOIN users r ON r.id = a.reader_ref
                WHERE a.owner_ref = (SELECT id FROM users WHERE user_id = $owner)
                  AND ($grant IS NULL OR g.grant_id = $grant)
                  AND ($before IS NULL OR a.id < $before)
                ORDER BY a.id DESC
                LIMIT $limit
                """,
                ("$owner", ownerUserId), ("$grant", grantId), ("$before", beforeId), ("$limit", limit));
            using var reader = command.ExecuteReader();
            var entries = new List<GrantAccessRecord>();
            while (reader.Read())
            {
                entries.Add(new GrantAccessRecord(
                    reader.GetInt64(0), reader.GetString(1), reader.GetString(2), reader.IsDBNull(3) ? null : reader.GetString(3),
                    reader.GetString(4), TypeList.Parse(reader.GetString(5)), Time(reader, 6), Time(reader, 7), Time(reader, 8)!.Value));
            }

            return entries;
        }, ct);

    private Task<T> ReadAsync<T>(Func<SqliteConnection, T> read, CancellationToken ct) => Task.Run(
        () =>
        {
            using var connection = new SqliteConnection(_readConnectionString);
            connection.Open();
            return read(connection);
        },
        ct);

    private static GrantRecord? Single(SqliteConnection connection, string sql, params (string, object?)[] parameters)
    {
        using var command = Command(connection, sql, parameters);
        using var reader = command.ExecuteReader();
        return reader.Read() ? ReadGrant(reader) : null;
    }

    private static List<GrantRecord> Many(SqliteConnection connection, string sql, params (string, object?)[] parameters)
    {
        using var command = Command(connection, sql, parameters);
        using var reader = command.ExecuteReader();
        var grants = new List<GrantRecord>();
        while (reader.Read())
        {
            grants.Add(ReadGrant(reader));
        }

        return grants;
    }

    private static GrantRecord ReadGrant(SqliteDataReader reader) => new(
        reader.GetString(0), reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetString(2), TypeList.Parse(reader.GetString(3)),
        Time(reader, 4), Time(reader, 5), Time(reader, 6)!.Value, Time(reader, 7)!.Value, Time(reader, 8));

    private static long? Ms(DateTimeOffset? time) => time?.ToUnixTimeMilliseconds();

    private static DateTimeOffset? Time(SqliteDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? null : DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(ordinal));

    /// <summary>Data types as stored: their numbers, comma-separated ("1,7"); grants hold a handful, read as a whole.</summary>
    private static class TypeList
    {
        public static string Format(IReadOnlyList<int> types) => string.Join(',', types.Select(type => type.ToString(CultureInfo.InvariantCulture)));

        public static int[] Parse(string text) =>
            text.Length == 0 ? [] : Array.ConvertAll(text.Split(','), part => int.Parse(part, NumberStyles.None, CultureInfo.InvariantCulture));
    }
}
