using Google.Protobuf;
using HealthGrpc.Contracts;
using HealthGrpc.Contracts.V1;

namespace HealthGrpc.Client;

/// <summary>
/// What the sources hold of one type on one UTC day: the distinct uuids (two sources may report one sample) folded into
/// the count and digest that <c>QueryService.GetDailyDigest</c> computes on the server, and the sample sets to resend.
/// </summary>
internal sealed class SourceDayDigest
{
    private readonly HashSet<ByteString> _uuids = [];

    public List<SampleSet> Sets { get; } = [];

    public long Count => _uuids.Count;

    public ulong Digest { get; private set; }

    public int Samples { get; private set; }

    /// <summary>
    /// Adds what a source holds, leaving out the samples in <paramref name="refused"/>: the server rejected those (they
    /// wait in the quarantine), so a day holding one still compares equal and is not resent only to be refused again.
    /// </summary>
    public void Add(IReadOnlyList<SampleSet> sets, IReadOnlySet<ByteString> refused)
    {
        foreach (var source in sets)
        {
            var set = refused.Count > 0 && source.Samples.Any(s => refused.Contains(s.Uuid)) ? Without(source, refused) : source;
            Sets.Add(set);
            Samples += set.Samples.Count;
            foreach (var sample in set.Samples)
            {
                // A sample without a uuid cannot be compared (the server derives one from its content): sources of a
                // reconciled type must give stable uuids, as the catch-up re-read already requires.
                if (sample.Uuid.Length == SampleUuid.Length && _uuids.Add(sample.Uuid))
                {
                    Digest = SampleDigest.Add(Digest, sample.Uuid.Span);
                }
            }
        }
    }

    public bool Matches(DailyDigest server) => (ulong)Count == server.Count && Digest == server.Digest;

    private static SampleSet Without(SampleSet set, IReadOnlySet<ByteString> refused)
    {
        var kept = set.Clone();
        kept.Samples.Clear();
        kept.Samples.Add(set.Samples.Where(s => !refused.Contains(s.Uuid)));
        return kept;
    }
}
