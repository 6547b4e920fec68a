using HealthGrpc.Storage;

namespace HealthGrpc.Server.Sharing;

/// <summary>
/// What a reader may see of an owner's data through their active grants: the union of each grant's types × [start, end)
/// of the item's start time. Records (no data type) are never in a scope.
/// </summary>
internal sealed class GrantScope
{
    private readonly Window[] _windows;

    public GrantScope(IReadOnlyList<GrantRecord> grants)
    {
        if (grants.Count == 0)
        {
            throw new ArgumentException("A scope needs at least one grant.", nameof(grants));
        }

        Grants = grants;
        _windows = grants.Select(grant => new Window(
            grant.Types.ToHashSet(),
            grant.DataStart?.ToUnixTimeMilliseconds() ?? long.MinValue,
            grant.DataEnd?.ToUnixTimeMilliseconds() ?? long.MaxValue)).ToArray();
        Types = grants.SelectMany(grant => grant.Types).Distinct().Order().ToArray();
        ExpiresAt = grants.Min(grant => grant.ExpiresAt);
    }

    public IReadOnlyList<GrantRecord> Grants { get; }

    /// <summary>Every type some grant covers, ascending.</summary>
    public IReadOnlyList<int> Types { get; }

    /// <summary>When the first of the grants expires (a stream reading through all of them ends then).</summary>
    public DateTimeOffset ExpiresAt { get; }

    public bool CoversType(int type) => Array.Exists(_windows, window => window.Types.Contains(type));

    /// <summary>An item of <paramref name="type"/> starting at <paramref name="startUnixMs"/> is shared.</summary>
    public bool Covers(int type, long startUnixMs) =>
        Array.Exists(_windows, window => window.Types.Contains(type) && window.FromMs <= startUnixMs && startUnixMs < window.ToMs);

    /// <summary>Every item of the slot [from, to) is shared: a rollup of the slot may be used (no item outside leaks into it).</summary>
    public bool CoversSlot(int type, long fromUnixMs, long toUnixMs) =>
        Array.Exists(_windows, window => window.Types.Contains(type) && window.FromMs <= fromUnixMs && toUnixMs <= window.ToMs);

    /// <summary>Some grant of <paramref name="type"/> covers part of [from, to).</summary>
    public bool Overlaps(int type, long fromUnixMs, long toUnixMs) =>
        Array.Exists(_windows, window => window.Types.Contains(type) && window.FromMs < toUnixMs && fromUnixMs < window.ToMs);

    /// <summary>The smallest range holding every window of <paramref name="types"/> (to clip a range read).</summary>
    public (long FromMs, long ToMs) Hull(IReadOnlyList<int> types)
    {
        var (from, to) = (long.MaxValue, long.MinValue);
        foreach (var window in _windows)
        {
            if (types.Any(window.Types.Contains))
            {
                (from, to) = (Math.Min(from, window.FromMs), Math.Max(to, window.ToMs));
            }
        }

        return (from, to);
    }

    private sealed record Window(HashSet<int> Types, long FromMs, long ToMs);
}
