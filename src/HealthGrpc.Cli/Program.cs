using System.CommandLine;
using HealthGrpc.Cli;
using HealthGrpc.Cli.Shared;

try
{
    return await CliApp.Build().Parse(args).InvokeAsync(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
}
catch (FileNotFoundException missing)
{
    // A missing store (mistyped --store) is a usage error for people, not a stack trace.
    return Terminal.Fail(missing.Message);
}
