namespace HealthGrpc.Storage;

/// <summary>
/// The 15-minute rollup of one user's quantity samples and series points of one type from one source: the bucket starts
/// at <paramref name="BucketStartUnixMs"/> = floor(start / 900,000) * 900,000 (UTC) and holds every stored sample whose
/// start falls in it and every point of a stored series whose instant does (each point counts like a sample).
/// <paramref name="First"/>/<paramref name="Last"/> are the values of the samples or points with the earliest/latest
/// start (ties: the one stored first/last; see <see cref="SeriesRollups"/> for the one exception), with those starts.
/// </summary>
public sealed record RollupRecord(int Type, SourceRecord Source, long BucketStartUnixMs, double Sum, long Count, double Min, double Max, double First, long FirstStartUnixMs, double Last, long LastStartUnixMs);
