namespace HealthGrpc.Server.ChangeFeed;

/// <summary>
/// Change-feed settings, bound from the <c>ChangeFeed</c> configuration section (e.g. <c>--ChangeFeed:HeartbeatInterval 00:00:05</c>).
/// </summary>
public sealed class ChangeFeedOptions
{
    /// <summary>Changes per <c>Changes</c> page when the request's page_size is 0.</summary>
    public int DefaultPageSize { get; set; } = 1000;

    /// <summary>Largest <c>Changes</c> page: a larger page_size is clamped to it (not refused).</summary>
    public int MaxPageSize { get; set; } = 10_000;

    /// <summary>
    /// Most changes one <c>Changes</c> call examines when a filter leaves most of them out: the page then ends early
    /// (possibly empty) with has_more and a next_token past everything examined, so a sparse filter never holds a
    /// call for the whole feed.
    /// </summary>
    public int MaxScannedPerPage { get; set; } = 50_000;

    /// <summary>A Subscribe stream with nothing to send for this long gets a heartbeat (proto: about every 15 s).</summary>
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// Changes a subscription reads from the store at a time. It reads the next slice only after the previous one was
    /// written to the stream, so this (plus the transport's flow-control window) bounds what the server holds for one
    /// subscriber, however slowly it reads.
    /// </summary>
    public int SubscribeReadSize { get; set; } = 256;

    /// <summary>
    /// Newest changes of a user's feed kept in memory while the user has open Subscribe calls: after each commit the
    /// server reads the new changes once into this window and every subscriber takes them from it. A subscriber further
    /// behind reads the store itself, so this bounds the window, not what a slow subscriber may lag.
    /// </summary>
    public int SharedWindowSize { get; set; } = 4096;

    /// <summary>
    /// A Subscribe message the subscriber does not take for this long (HTTP/2 flow control stays closed) makes the server
    /// stop reading for it: once that message is taken the call ends with RESOURCE_EXHAUSTED, and the client resumes
    /// from the last token it received.
    /// </summary>
    public TimeSpan SubscribeWriteTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// A message still not taken this long after <see cref="SubscribeWriteTimeout"/> means nobody reads the stream: the
    /// server ends the call and the stream is reset (no status can reach a client that reads nothing).
    /// </summary>
    public TimeSpan SubscribeAbandonTimeout { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>
    /// How often an idle Subscribe stream that reads another user's data through grants checks that they are still
    /// active (one one-row read while nothing was revoked). A revocation through this server's SharingService wakes the
    /// stream at once; one by another process (`healthgrpc grant revoke`) is seen within this interval. Expiry is
    /// timed exactly.
    /// </summary>
    public TimeSpan GrantCheckInterval { get; set; } = TimeSpan.FromSeconds(1);
}
