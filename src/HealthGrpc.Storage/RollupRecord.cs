namespace HealthGrpc.Storage;

/// <summary>
/// The 15-minute rollup of one user's quantity samples of one type from one source: the bucket starts at
/// <paramref name="BucketStartUnixMs"/> = floor(start / 900,000) * 900,000 (UTC) and holds every stored sample whose start
/// falls in it. <paramref name="First"/>/<paramref name="Last"/> are the values of the samples with the earliest/latest
/// start (ties: the one stored first/last), with those starts.
/// </summary>
public sealed record RollupRecord(int Type, SourceRecord Source, long BucketStartUnixMs, double Sum, long Count, double Min, double Max, double First, long FirstStartUnixMs, double Last, long LastStartUnixMs);
