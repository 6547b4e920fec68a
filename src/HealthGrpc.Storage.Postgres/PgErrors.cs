using System.Net.Sockets;
using Npgsql;

namespace HealthGrpc.Storage.Postgres;

/// <summary>Which failures mean "the database is not reachable or not taking work now" (a retryable UNAVAILABLE).</summary>
internal static class PgErrors
{
    public static bool IsUnavailable(Exception error) => error switch
    {
        // Connection exceptions, resources (too many connections, disk full), operator intervention (shutdown,
        // restart), system errors, and transaction rollbacks (serialization, deadlock): the client retries later.
        PostgresException postgres => postgres.SqlState[..2] is "08" or "53" or "57" or "58" or "40",
        // Broken connections, timeouts, an exhausted pool.
        NpgsqlException => true,
        TimeoutException or IOException or SocketException => true,
        _ => false,
    };
}
