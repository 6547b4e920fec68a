namespace HealthGrpc.Cli.Tests.Infrastructure;

/// <summary>A fresh directory for one test's store file, deleted afterwards.</summary>
internal sealed class TempStore : IDisposable
{
    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("healthgrpc-cli-");

    /// <summary>The store file (not created: the command creates it).</summary>
    public string Path => System.IO.Path.Combine(_directory.FullName, "store.db");

    public void Dispose() => _directory.Delete(recursive: true);
}
