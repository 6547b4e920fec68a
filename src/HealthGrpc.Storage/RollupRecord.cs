namespace HealthGrpc.Storage;

public sealed record RollupRecord(int Type, SourceRecord Source, long BucketStartUnixMs, double Sum, long Count, double Min, double Max, double First, long FirstStartUnixMs, double Last, long LastStartUnixMs);
