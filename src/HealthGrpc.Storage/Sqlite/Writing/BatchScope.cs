namespace HealthGrpc.Storage.Sqlite.Writing;

/// <summary>
/// The batch being applied, as every applier sees it: whose rows, from which device, the user's change sequence, the
/// counts of the result and a reused 16-byte uuid buffer. One instance per writer, reset per batch.
/// </summary>
internal sealed class BatchScope
{
    public long UserRef { get; private set; }

    public long DeviceRef { get; private set; }

    /// <summary>The user's change counter: the last sequence assigned so far (see <see cref="NextSequence"/>).</summary>
    public long Sequence { get; private set; }

    /// <summary>False when the user has no tombstone at all: the per-item tombstone probe is skipped.</summary>
    public bool UserHasTombstones { get; set; }

    /// <summary>The item's uuid in stored (RFC 9562) byte order, written by the applier looking at it.</summary>
    public byte[] Uuid { get; } = new byte[16];

    public int Accepted { get; set; }

    public int Duplicates { get; set; }

    public int Replaced { get; set; }

    public int IgnoredDeleted { get; set; }

    /// <summary>The sequence the next stored item gets (bound before its insert; <see cref="TakeSequence"/> once it was stored).</summary>
    public long NextSequence => Sequence + 1;

    public void Begin(long userRef, long deviceRef, long sequence)
    {
        (UserRef, DeviceRef, Sequence) = (userRef, deviceRef, sequence);
        UserHasTombstones = false;
        (Accepted, Duplicates, Replaced, IgnoredDeleted) = (0, 0, 0, 0);
    }

    /// <summary>Assigns <see cref="NextSequence"/> to the item just stored.</summary>
    public long TakeSequence() => ++Sequence;

    /// <summary>Counts an INSERT ... ON CONFLICT DO NOTHING of one item: a new row took the next sequence, none is a duplicate.</summary>
    public void CountInsert(int inserted)
    {
        if (inserted == 0)
        {
            Duplicates++;
            return;
        }

        TakeSequence();
        Accepted++;
    }
}
