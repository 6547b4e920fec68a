namespace HealthGrpc.Client;

/// <summary>
/// The store's files readable and writable by the app's user only (unix mode 600). SQLite creates the -wal and -shm
/// files with the mode of the database file, so the database file is created first with that mode; files of an older
/// store are narrowed on open. On Windows the app's private folder (its ACL) is the protection.
/// </summary>
internal static class OwnerOnlyFiles
{
    private const UnixFileMode OwnerReadWrite = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>Creates an empty database file with mode 600 when none exists.</summary>
    public static void Prepare(string path)
    {
        if (OperatingSystem.IsWindows() || File.Exists(path))
        {
            return;
        }

        try
        {
            using var _ = new FileStream(path, new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, UnixCreateMode = OwnerReadWrite });
        }
        catch (IOException) when (File.Exists(path))
        {
            // Another opener created it first: Restrict narrows its mode after the open.
        }
    }

    /// <summary>Sets mode 600 on the database and its -wal, -shm and -journal files that exist.</summary>
    public static void Restrict(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        foreach (var file in new[] { path, path + "-wal", path + "-shm", path + "-journal" })
        {
            if (File.Exists(file) && File.GetUnixFileMode(file) != OwnerReadWrite)
            {
                File.SetUnixFileMode(file, OwnerReadWrite);
            }
        }
    }
}
