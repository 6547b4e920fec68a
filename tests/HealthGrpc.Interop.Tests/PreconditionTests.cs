using HealthGrpc.Interop.Tests.Infrastructure;

namespace HealthGrpc.Interop.Tests;

/// <summary>The interop suite fails loudly, never skips, when its npm peers are not installed.</summary>
public sealed class PreconditionTests
{
    [Fact]
    public void Missing_node_modules_fails_with_run_npm_ci()
    {
        var empty = Directory.CreateTempSubdirectory("healthgrpc-no-node-modules-");
        try
        {
            var ex = Assert.Throws<InvalidOperationException>(() => RepoPaths.RequireNodeModules(empty.FullName));
            Assert.Contains("run npm ci", ex.Message, StringComparison.Ordinal);
            Assert.Contains("@grpc", ex.Message, StringComparison.Ordinal);
        }
        finally
        {
            empty.Delete(recursive: true);
        }
    }

    [Fact]
    public void Repository_has_the_pinned_interop_peers_installed() => RepoPaths.RequireNodeModules();
}
