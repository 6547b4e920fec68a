using HealthGrpc.Storage;

namespace HealthGrpc.Server;

/// <summary>Opens a store from the <c>Storage</c> configuration section; returns the store and how to name it in logs.</summary>
public delegate Task<(IHealthStore Store, string Description)> StoreOpener(IConfigurationSection storage, CancellationToken ct);

/// <summary>
/// The store providers a host can open by <c>Storage:Provider</c>, besides the built-in <c>sqlite</c>. The server itself
/// references no provider but SQLite: a host that ships another (the <c>healthgrpc</c> CLI ships <c>postgres</c>) adds it
/// here, so a SQLite-only deployment carries no other database driver.
/// </summary>
public sealed class StoreProviders
{
    /// <summary>The built-in provider's name (the default).</summary>
    public const string Sqlite = "sqlite";

    private readonly Dictionary<string, StoreOpener> _openers = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Only the built-in SQLite provider.</summary>
    public static StoreProviders SqliteOnly { get; } = new();

    /// <summary>Adds (or replaces) a provider.</summary>
    public StoreProviders Add(string name, StoreOpener opener)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(opener);
        _openers[name] = opener;
        return this;
    }

    /// <summary>The opener of <paramref name="name"/>; null for the built-in SQLite provider.</summary>
    internal StoreOpener? Find(string name) =>
        string.Equals(name, Sqlite, StringComparison.OrdinalIgnoreCase) ? null
        : _openers.TryGetValue(name, out var opener) ? opener
        : throw new InvalidOperationException(
            $"Storage:Provider '{name}' is not available in this host (available: {string.Join(", ", _openers.Keys.Prepend(Sqlite))}).");
}
