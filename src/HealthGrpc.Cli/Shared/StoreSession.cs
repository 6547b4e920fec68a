using HealthGrpc.Storage.Sqlite;

namespace HealthGrpc.Cli.Shared;

/// <summary>Opens the configured store for an admin verb (migrating it like the server does).</summary>
internal static class StoreSession
{
    /// <summary>
    /// The store at <paramref name="path"/>; when <paramref name="create"/> is false a missing file is an error, so a
    /// mistyped --store is reported instead of answered from a new empty database.
    /// </summary>
    public static async Task<SqliteHealthStore> OpenAsync(string path, bool create, CancellationToken ct)
    {
        if (!File.Exists(path))
        {
            if (!create)
            {
                throw new FileNotFoundException($"no store at '{path}' (set --store PATH).", path);
            }

            Directory.CreateDirectory(Path.GetDirectoryName(path)!, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        return await SqliteHealthStore.OpenAsync(path, ct: ct);
    }
}
