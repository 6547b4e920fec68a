namespace HealthGrpc.Interop.Tests.Infrastructure;

/// <summary>Locates the repository (the directory holding HealthGrpc.sln) and the npm tooling the interop peers need.</summary>
internal static class RepoPaths
{
    private static readonly Lazy<string> LazyRoot = new(FindRoot);

    public static string Root => LazyRoot.Value;

    /// <summary>tests/interop: the grpc-js vendor suite.</summary>
    public static string InteropDir => Path.Combine(Root, "tests", "interop");

    public static string NodeModules => Path.Combine(Root, "node_modules");

    public static string Buf => Path.Combine(NodeModules, ".bin", "buf");

    public static string VendorScript => Path.Combine(InteropDir, "vendor.js");

    /// <summary>The `healthgrpc` command (its `serve` verb is the server), copied next to the tests by the project reference.</summary>
    public static string ServerDll => Path.Combine(AppContext.BaseDirectory, "healthgrpc.dll");

    /// <summary>Fails (never skips) when the pinned npm packages are not installed.</summary>
    public static void RequireNodeModules() => RequireNodeModules(Root);

    internal static void RequireNodeModules(string root)
    {
        var nodeModules = Path.Combine(root, "node_modules");
        string[] required =
        [
            Path.Combine(nodeModules, "@grpc", "grpc-js", "package.json"),
            Path.Combine(nodeModules, "@grpc", "proto-loader", "package.json"),
            Path.Combine(nodeModules, ".bin", "buf"),
        ];
        var missing = required.Where(p => !File.Exists(p)).ToList();
        if (missing.Count > 0)
        {
            throw new InvalidOperationException(
                $"The interop peers need the pinned npm packages, but {string.Join(", ", missing)} is missing: "
                + $"run npm ci in {root}.");
        }
    }

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "HealthGrpc.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"HealthGrpc.sln not found above {AppContext.BaseDirectory}.");
    }
}
