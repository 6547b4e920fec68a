namespace HealthGrpc.Storage;

/// <summary>Sum, count, min, max and first/last of the values a commit adds to one rollup bucket.</summary>
internal sealed class BucketDelta
{
    public double Sum;
    public long Count;
    public double Min = double.PositiveInfinity;
    public double Max = double.NegativeInfinity;
    public double First;
    public long FirstMs = long.MaxValue;
    public double Last;
    public long LastMs = long.MinValue;

    /// <summary>Adds a value; values arrive in change-sequence order, so on a tie the first stays first and the newest is last.</summary>
    public void Add(long startMs, double value)
    {
        Sum += value;
        Count++;
        Min = Math.Min(Min, value);
        Max = Math.Max(Max, value);
        if (startMs < FirstMs)
        {
            (First, FirstMs) = (value, startMs);
        }

        if (startMs >= LastMs)
        {
            (Last, LastMs) = (value, startMs);
        }
    }
}
