using Npgsql;
using NpgsqlTypes;
using static HealthGrpc.Storage.Postgres.PgSql;

namespace HealthGrpc.Storage.Postgres;

/// <summary>
/// <see cref="IGrantStore"/> on PostgreSQL. Grants and audit entries are small administrative writes outside the ingest
/// writer's group commit, each one statement (or one short transaction) on a pooled connection, from any instance or
/// from `healthgrpc grant` on another host. Share codes are stored only as their SHA-256 hash (the store never sees the
/// code). Triggers of migration 2 advance auth_generation when a grant is revoked, its expiry changes or it is deleted,
/// whoever writes, so every instance holding it open notices.
/// </summary>
internal sealed class PgGrants(NpgsqlDataSource dataSource)
{
    /// <summary>Migration 2: sharing grants (to a user or by share-code hash) and the audit log of reads through them.</summary>
    public const string MigrationSql = """
        CREATE TABLE grants (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            grant_id text NOT NULL UNIQUE,
            owner_ref bigint NOT NULL REFERENCES users (id),
            grantee_ref bigint REFERENCES users (id),
            share_code_hash bytea UNIQUE,
            types int[] NOT NULL,
            data_start_ms bigint,
            data_end_ms bigint,
            expires_ms bigint NOT NULL,
            created_ms bigint NOT NULL,
            revoked_ms bigint,
            CHECK ((grantee_ref IS NULL) <> (share_code_hash IS NULL))
        );
        CREATE INDEX grants_owner ON grants (owner_ref, created_ms);
        CREATE INDEX grants_grantee ON grants (grantee_ref, owner_ref) WHERE grantee_ref IS NOT NULL;
        CREATE TABLE grant_access (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            grant_ref bigint NOT NULL REFERENCES grants (id),
            owner_ref bigint NOT NULL REFERENCES users (id),
            reader_ref bigint REFERENCES users (id),
            method text NOT NULL,
            types int[] NOT NULL,
            data_start_ms bigint,
            data_end_ms bigint,
            at_ms bigint NOT NULL
        );
        CREATE INDEX grant_access_owner ON grant_access (owner_ref, id);
        CREATE INDEX grant_access_grant ON grant_access (grant_ref, id);
        CREATE TRIGGER grants_access_changed AFTER UPDATE OF revoked_ms, expires_ms ON grants
            FOR EACH ROW EXECUTE FUNCTION advance_auth_generation();
        CREATE TRIGGER grants_deleted AFTER DELETE ON grants
            FOR EACH ROW EXECUTE FUNCTION advance_auth_generation();
        """;

    private const string GrantSelect = """
        SELECT g.grant_id, o.user_id, e.user_id, g.types, g.data_start_ms, g.data_end_ms, g.expires_ms, g.created_ms, g.revoked_ms
        FROM grants g JOIN users o ON o.id = g.owner_ref LEFT JOIN users e ON e.id = g.grantee_ref
        """;

    public async Task<GrantCreation> CreateGrantAsync(NewGrant grant, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(grant);
        if ((grant.GranteeUserId is null) == (grant.ShareCodeHash is not { Length: > 0 }))
        {
            throw new ArgumentException("A grant has either a grantee user or a share-code hash.", nameof(grant));
        }

        await using var connection = await dataSource.OpenConnectionAsync(ct).ConfigureAwait(false);
        // One statement: the grant when both users exist, and in any case whether the owner does (to say which was unknown).
        await using var insert = Command(
            connection,
            """
            WITH created AS (
                INSERT INTO grants (grant_id, owner_ref, grantee_ref, share_code_hash, types, data_start_ms, data_end_ms, expires_ms, created_ms)
                SELECT @id, o.id, e.id, @code, @types, @from, @to, @expires, @created
                FROM users o LEFT JOIN users e ON e.user_id = @grantee
                WHERE o.user_id = @owner AND (@grantee IS NULL OR e.id IS NOT NULL)
                RETURNING id)
            SELECT EXISTS (SELECT 1 FROM created), EXISTS (SELECT 1 FROM users WHERE user_id = @owner)
            """,
            Value("id", grant.GrantId), Value("owner", grant.OwnerUserId), Nullable("grantee", NpgsqlDbType.Text, grant.GranteeUserId),
            Nullable("code", NpgsqlDbType.Bytea, grant.ShareCodeHash?.ToArray()), Array("types", NpgsqlDbType.Integer, grant.Types.ToArray()),
            Ms("from", grant.DataStart), Ms("to", grant.DataEnd),
            Value("expires", grant.ExpiresAt.ToUnixTimeMilliseconds()), Value("created", grant.CreatedAt.ToUnixTimeMilliseconds()));
        await using var reader = await insert.ExecuteReaderAsync(ct).ConfigureAwait(false);
        await reader.ReadAsync(ct).ConfigureAwait(false);
        return reader.GetBoolean(0) ? GrantCreation.Created : reader.GetBoolean(1) ? GrantCreation.UnknownGrantee : GrantCreation.UnknownOwner;
    }

    public async Task<GrantRecord?> FindGrantAsync(string grantId, CancellationToken ct) =>
        (await ManyAsync(GrantSelect + " WHERE g.grant_id = @id", ct, Value("id", grantId)).ConfigureAwait(false)).SingleOrDefault();

    public async Task<GrantRecord?> FindShareCodeGrantAsync(ReadOnlyMemory<byte> shareCodeHash, CancellationToken ct) =>
        (await ManyAsync(GrantSelect + " WHERE g.share_code_hash = @h", ct, Value("h", shareCodeHash.ToArray())).ConfigureAwait(false)).SingleOrDefault();

    public Task<IReadOnlyList<GrantRecord>> FindActiveGrantsAsync(string ownerUserId, string granteeUserId, DateTimeOffset now, CancellationToken ct) =>
        ManyAsync(
            GrantSelect + """
                 WHERE o.user_id = @owner AND e.user_id = @grantee
                   AND g.revoked_ms IS NULL AND g.expires_ms > @now
                 ORDER BY g.id
                """,
            ct,
            Value("owner", ownerUserId), Value("grantee", granteeUserId), Value("now", now.ToUnixTimeMilliseconds()));

    public Task<IReadOnlyList<GrantRecord>> ListGrantsAsync(string? userId, GrantSide side, bool includeInactive, DateTimeOffset now, CancellationToken ct)
    {
        var sideSql = side switch
        {
            GrantSide.Owner => "o.user_id = @u",
            GrantSide.Grantee => "e.user_id = @u",
            _ => "(o.user_id = @u OR e.user_id = @u)",
        };
        return ManyAsync(
            GrantSelect + $"""
                 WHERE (@u IS NULL OR {sideSql})
                   AND (@all OR (g.revoked_ms IS NULL AND g.expires_ms > @now))
                 ORDER BY g.created_ms DESC, g.id DESC
                """,
            ct,
            Nullable("u", NpgsqlDbType.Text, userId), Value("all", includeInactive), Value("now", now.ToUnixTimeMilliseconds()));
    }

    public async Task<GrantRevocation> RevokeGrantAsync(string grantId, string? ownerUserId, DateTimeOffset now, CancellationToken ct)
    {
        await using var connection = await dataSource.OpenConnectionAsync(ct).ConfigureAwait(false);
        // One statement: revokes an active grant of the owner, and tells a revoked one from none (NotFound for another owner's).
        await using var revoke = Command(
            connection,
            """
            WITH target AS (
                SELECT g.id, g.revoked_ms FROM grants g JOIN users o ON o.id = g.owner_ref
                WHERE g.grant_id = @id AND (@owner IS NULL OR o.user_id = @owner)),
            revoked AS (
                UPDATE grants SET revoked_ms = @t WHERE id = (SELECT id FROM target WHERE revoked_ms IS NULL) AND revoked_ms IS NULL
                RETURNING id)
            SELECT EXISTS (SELECT 1 FROM revoked), EXISTS (SELECT 1 FROM target)
            """,
            Value("id", grantId), Nullable("owner", NpgsqlDbType.Text, ownerUserId), Value("t", now.ToUnixTimeMilliseconds()));
        await using var reader = await revoke.ExecuteReaderAsync(ct).ConfigureAwait(false);
        await reader.ReadAsync(ct).ConfigureAwait(false);
        return reader.GetBoolean(0) ? GrantRevocation.Revoked : reader.GetBoolean(1) ? GrantRevocation.AlreadyRevoked : GrantRevocation.NotFound;
    }

    public async Task RecordAccessAsync(GrantAccess access, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(access);
        await using var connection = await dataSource.OpenConnectionAsync(ct).ConfigureAwait(false);
        // One entry per grant in one statement, committed before the caller returns the data.
        await using var insert = Command(
            connection,
            """
            INSERT INTO grant_access (grant_ref, owner_ref, reader_ref, method, types, data_start_ms, data_end_ms, at_ms)
            SELECT g.id, g.owner_ref, (SELECT id FROM users WHERE user_id = @reader), @method, @types, @from, @to, @at
            FROM unnest(@grants) WITH ORDINALITY AS a(grant_id, o) JOIN grants g ON g.grant_id = a.grant_id
            ORDER BY a.o
            """,
            Array("grants", NpgsqlDbType.Text, access.GrantIds.ToArray()), Nullable("reader", NpgsqlDbType.Text, access.ReaderUserId),
            Value("method", access.Method), Array("types", NpgsqlDbType.Integer, access.Types.ToArray()),
            Ms("from", access.DataStart), Ms("to", access.DataEnd), Value("at", access.At.ToUnixTimeMilliseconds()));
        await insert.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<GrantAccessRecord>> ListAccessAsync(string ownerUserId, string? grantId, long? beforeId, int limit, CancellationToken ct)
    {
        await using var connection = await dataSource.OpenConnectionAsync(ct).ConfigureAwait(false);
        await using var command = Command(
            connection,
            """
            SELECT a.id, g.grant_id, o.user_id, r.user_id, a.method, a.types, a.data_start_ms, a.data_end_ms, a.at_ms
            FROM grant_access a
            JOIN grants g ON g.id = a.grant_ref
            JOIN users o ON o.id = a.owner_ref
            LEFT JOIN users r ON r.id = a.reader_ref
            WHERE a.owner_ref = (SELECT id FROM users WHERE user_id = @owner)
              AND (@grant IS NULL OR g.grant_id = @grant)
              AND (@before IS NULL OR a.id < @before)
            ORDER BY a.id DESC
            LIMIT @limit
            """,
            Value("owner", ownerUserId), Nullable("grant", NpgsqlDbType.Text, grantId), Nullable("before", NpgsqlDbType.Bigint, beforeId), Value("limit", limit));
        await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
        var entries = new List<GrantAccessRecord>();
        while (await reader.ReadAsync(ct).ConfigureAwait(false))
        {
            entries.Add(new GrantAccessRecord(
                reader.GetInt64(0), reader.GetString(1), reader.GetString(2), reader.IsDBNull(3) ? null : reader.GetString(3),
                reader.GetString(4), reader.GetFieldValue<int[]>(5), Time(reader, 6), Time(reader, 7), Time(reader, 8)!.Value));
        }

        return entries;
    }

    private async Task<IReadOnlyList<GrantRecord>> ManyAsync(string sql, CancellationToken ct, params NpgsqlParameter[] parameters)
    {
        await using var connection = await dataSource.OpenConnectionAsync(ct).ConfigureAwait(false);
        await using var command = Command(connection, sql, parameters);
        await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
        var grants = new List<GrantRecord>();
        while (await reader.ReadAsync(ct).ConfigureAwait(false))
        {
            grants.Add(new GrantRecord(
                reader.GetString(0), reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetString(2), reader.GetFieldValue<int[]>(3),
                Time(reader, 4), Time(reader, 5), Time(reader, 6)!.Value, Time(reader, 7)!.Value, Time(reader, 8)));
        }

        return grants;
    }

    private static NpgsqlParameter Ms(string name, DateTimeOffset? time) => Nullable(name, NpgsqlDbType.Bigint, time?.ToUnixTimeMilliseconds());
}
