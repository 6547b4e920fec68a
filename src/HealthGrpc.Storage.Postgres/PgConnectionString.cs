using Npgsql;

namespace HealthGrpc.Storage.Postgres;

/// <summary>Parses a configured connection string once, where every PostgreSQL entry point starts.</summary>
public static class PgConnectionString
{
    /// <summary>The parsed string; a malformed one is a <see cref="HealthStoreConfigurationException"/> naming the bad keyword.</summary>
    public static NpgsqlConnectionStringBuilder Parse(string connectionString)
    {
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            throw new HealthStoreConfigurationException("Storage:ConnectionString is empty: the PostgreSQL provider needs one (\"Host=…;Database=…;Username=…\").");
        }

        try
        {
            return new NpgsqlConnectionStringBuilder(connectionString);
        }
        catch (ArgumentException malformed)
        {
            // Npgsql names the keyword ("Couldn't set hostt"); the string itself may hold a password, so it is not repeated.
            throw new HealthStoreConfigurationException(
                $"Storage:ConnectionString is not a valid PostgreSQL connection string: {malformed.Message} " +
                "(expected \"Host=…;Port=5432;Database=…;Username=…;Password=…\"; keywords: https://www.npgsql.org/doc/connection-string-parameters.html).",
                malformed);
        }
    }
}
