using Npgsql;
using NpgsqlTypes;
using static HealthGrpc.Storage.Postgres.PgSql;

namespace HealthGrpc.Storage.Postgres;

/// <summary>
/// <see cref="IAccountStore"/> on PostgreSQL. Account changes are rare administrative writes (`healthgrpc user|token`,
/// possibly from another host): each runs as its own short statement or transaction on a pooled connection, outside the
/// ingest writer's group commit. Triggers of migration 1 advance auth_generation whenever a credential is taken away.
/// </summary>
internal sealed class PgAccounts(NpgsqlDataSource dataSource)
{
    // The public id of a token: the first 6 bytes of its SHA-256 hash, lower-case hex.
    private const string TokenIdSql = "encode(substr(t.token_hash, 1, 6), 'hex')";

    private const string TokenColumns = $"{TokenIdSql}, u.user_id, t.created_ms, t.expires_ms, t.revoked_ms";

    private const string UserSelect = """
        SELECT u.user_id, u.created_ms, u.disabled_ms,
               (SELECT COUNT(*) FROM tokens t WHERE t.user_ref = u.id AND t.revoked_ms IS NULL AND (t.expires_ms IS NULL OR t.expires_ms > @now))::int
        FROM users u
        """;

    public async Task CreateUserAsync(string userId, CancellationToken ct)
    {
        await using var connection = await dataSource.OpenConnectionAsync(ct).ConfigureAwait(false);
        await EnsureUserAsync(connection, userId, ct).ConfigureAwait(false);
    }

    public async Task AddTokenAsync(string userId, byte[] tokenHash, CancellationToken ct)
    {
        await using var connection = await dataSource.OpenConnectionAsync(ct).ConfigureAwait(false);
        await EnsureUserAsync(connection, userId, ct).ConfigureAwait(false);
        await using var insert = Command(
            connection,
            """
            INSERT INTO tokens (token_hash, user_ref, created_ms) SELECT @h, id, @t FROM users WHERE user_id = @u
            ON CONFLICT (token_hash) DO NOTHING
            """,
            Value("h", tokenHash), Value("t", NowMs), Value("u", userId));
        await insert.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }

    public async Task<UserAccount?> FindUserAsync(string userId, CancellationToken ct)
    {
        ArgumentException.ThrowIfNullOrEmpty(userId);
        await using var connection = await dataSource.OpenConnectionAsync(ct).ConfigureAwait(false);
        await using var command = Command(connection, UserSelect + " WHERE u.user_id = @u", Value("now", NowMs), Value("u", userId));
        await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
        return await reader.ReadAsync(ct).ConfigureAwait(false) ? ReadUser(reader) : null;
    }

    public async Task<IReadOnlyList<UserAccount>> ListUsersAsync(CancellationToken ct)
    {
        await using var connection = await dataSource.OpenConnectionAsync(ct).ConfigureAwait(false);
        await using var command = Command(connection, UserSelect + " ORDER BY u.user_id COLLATE \"C\"", Value("now", NowMs));
        await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
        var users = new List<UserAccount>();
        while (await reader.ReadAsync(ct).ConfigureAwait(false))
        {
            users.Add(ReadUser(reader));
        }

        return users;
    }

    public async Task<bool> DisableUserAsync(string userId, CancellationToken ct)
    {
        ArgumentException.ThrowIfNullOrEmpty(userId);
        await using var connection = await dataSource.OpenConnectionAsync(ct).ConfigureAwait(false);
        // One statement: the user exists (true) whether or not it was already disabled.
        await using var command = Command(
            connection,
            """
            WITH disabled AS (UPDATE users SET disabled_ms = @t WHERE user_id = @u AND disabled_ms IS NULL RETURNING id)
            SELECT EXISTS (SELECT 1 FROM users WHERE user_id = @u)
            """,
            Value("t", NowMs), Value("u", userId));
        return (bool)(await command.ExecuteScalarAsync(ct).ConfigureAwait(false))!;
    }

    public async Task<TokenInfo?> IssueTokenAsync(string userId, ReadOnlyMemory<byte> tokenHash, DateTimeOffset? expiresAt, CancellationToken ct)
    {
        ArgumentException.ThrowIfNullOrEmpty(userId);
        if (tokenHash.Length < 6)
        {
            throw new ArgumentException("A token hash (SHA-256) is required.", nameof(tokenHash));
        }

        var hash = tokenHash.ToArray();
        await using var connection = await dataSource.OpenConnectionAsync(ct).ConfigureAwait(false);
        await using var insert = Command(
            connection,
            $"""
            WITH t AS (
                INSERT INTO tokens (token_hash, user_ref, created_ms, expires_ms)
                SELECT @h, id, @t, @x FROM users WHERE user_id = @u
                RETURNING token_hash, user_ref, created_ms, expires_ms, revoked_ms)
            SELECT {TokenColumns} FROM t JOIN users u ON u.id = t.user_ref
            """,
            Value("h", hash), Value("t", NowMs), Nullable("x", NpgsqlDbType.Bigint, expiresAt?.ToUnixTimeMilliseconds()), Value("u", userId));
        await using var reader = await insert.ExecuteReaderAsync(ct).ConfigureAwait(false);
        return await reader.ReadAsync(ct).ConfigureAwait(false) ? ReadToken(reader) : null;
    }

    public async Task<IReadOnlyList<TokenInfo>> ListTokensAsync(string? userId, CancellationToken ct)
    {
        await using var connection = await dataSource.OpenConnectionAsync(ct).ConfigureAwait(false);
        await using var command = Command(
            connection,
            $"SELECT {TokenColumns} FROM tokens t JOIN users u ON u.id = t.user_ref WHERE @u::text IS NULL OR u.user_id = @u ORDER BY t.created_ms, 1",
            Nullable("u", NpgsqlDbType.Text, userId));
        await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
        var tokens = new List<TokenInfo>();
        while (await reader.ReadAsync(ct).ConfigureAwait(false))
        {
            tokens.Add(ReadToken(reader));
        }

        return tokens;
    }

    public async Task<TokenRevocation> RevokeTokenAsync(string tokenId, CancellationToken ct)
    {
        ArgumentException.ThrowIfNullOrEmpty(tokenId);
        var id = tokenId.Trim().ToLowerInvariant();
        await using var connection = await dataSource.OpenConnectionAsync(ct).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(ct).ConfigureAwait(false);
        var matches = new List<(byte[] Hash, bool Revoked)>();
        await using (var find = Command(connection, $"SELECT t.token_hash, t.revoked_ms FROM tokens t WHERE {TokenIdSql} = @id FOR UPDATE", Value("id", id)))
        await using (var reader = await find.ExecuteReaderAsync(ct).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(ct).ConfigureAwait(false))
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

        await using (var revoke = Command(connection, "UPDATE tokens SET revoked_ms = @t WHERE token_hash = @h", Value("t", NowMs), Value("h", matches[0].Hash)))
        {
            await revoke.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        }

        await transaction.CommitAsync(ct).ConfigureAwait(false);
        return TokenRevocation.Revoked;
    }

    public async Task<Credential?> FindCredentialAsync(ReadOnlyMemory<byte> tokenHash, CancellationToken ct)
    {
        await using var connection = await dataSource.OpenConnectionAsync(ct).ConfigureAwait(false);
        await using var command = Command(
            connection,
            $"SELECT u.user_id, {TokenIdSql}, t.expires_ms, t.revoked_ms, u.disabled_ms FROM tokens t JOIN users u ON u.id = t.user_ref WHERE t.token_hash = @h",
            Value("h", tokenHash.ToArray()));
        await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
        return await reader.ReadAsync(ct).ConfigureAwait(false)
            ? new Credential(reader.GetString(0), reader.GetString(1), Time(reader, 2), Time(reader, 3), Time(reader, 4))
            : null;
    }

    public async Task<long> GetAuthGenerationAsync(CancellationToken ct)
    {
        await using var connection = await dataSource.OpenConnectionAsync(ct).ConfigureAwait(false);
        await using var command = Command(connection, "SELECT generation FROM auth_generation WHERE id = 1");
        return (long)(await command.ExecuteScalarAsync(ct).ConfigureAwait(false))!;
    }

    private static long NowMs => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

    private static async Task EnsureUserAsync(NpgsqlConnection connection, string userId, CancellationToken ct)
    {
        await using var command = Command(
            connection,
            "INSERT INTO users (user_id, created_ms) VALUES (@u, @t) ON CONFLICT (user_id) DO NOTHING",
            Value("u", userId), Value("t", NowMs));
        await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }

    private static UserAccount ReadUser(NpgsqlDataReader reader) =>
        new(reader.GetString(0), Time(reader, 1)!.Value, Time(reader, 2), reader.GetInt32(3));

    private static TokenInfo ReadToken(NpgsqlDataReader reader) =>
        new(reader.GetString(0), reader.GetString(1), Time(reader, 2)!.Value, Time(reader, 3), Time(reader, 4));
}
