using System.CommandLine;
using HealthGrpc.Cli;
using HealthGrpc.Cli.Shared;
using Microsoft.Data.Sqlite;

try
{
    return await CliApp.Build().Parse(args).InvokeAsync(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
}
catch (FileNotFoundException missing)
{
    // A missing store (mistyped --store) is a usage error for people, not a stack trace.
    return Terminal.Fail(missing.Message);
}
catch (StoreOptionException usage)
{
    return Terminal.Fail(usage.Message);
}
catch (HealthGrpc.Storage.HealthStoreConfigurationException misconfigured)
{
    // A malformed connection string, a database that would lose acked data: the message names the setting to fix.
    return Terminal.Fail(misconfigured.Message);
}
catch (HealthGrpc.Storage.HealthStoreUnavailableException unavailable)
{
    // PostgreSQL unreachable (or refusing): say so, without a stack trace.
    return Terminal.Fail(unavailable.Message);
}
catch (SqliteException error) when ((error.SqliteErrorCode & 0xFF) is 11 /* CORRUPT */ or 26 /* NOTADB */)
{
    return Terminal.Fail($"the store is DAMAGED: {error.Message}");
}
