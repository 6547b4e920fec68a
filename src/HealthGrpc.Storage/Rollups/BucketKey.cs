namespace HealthGrpc.Storage;

/// <summary>A 15-minute rollup bucket of one user, type and source (shared by both stores).</summary>
internal readonly record struct BucketKey(long UserRef, int Type, long SourceRef, long BucketMs)
{
    /// <summary>Bucket length: every real zone offset is a multiple of 15 minutes, so local hours and days are exact unions of buckets.</summary>
    public const long Length = 15 * 60 * 1000;

    /// <summary>The bucket holding a sample that starts at <paramref name="startMs"/> (floor, also before 1970).</summary>
    public static BucketKey Of(long userRef, int type, long sourceRef, long startMs)
        => new(userRef, type, sourceRef, StartOf(startMs));

    /// <summary>The UTC start of the bucket holding <paramref name="startMs"/> (floor, also before 1970).</summary>
    public static long StartOf(long startMs) => startMs - (((startMs % Length) + Length) % Length);
}
