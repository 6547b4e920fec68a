using System.IO.Compression;
using System.Xml;

namespace HealthGrpc.Cli.Import;

/// <summary>
/// Streams an Apple Health export (export.zip or export.xml) element by element with an <see cref="XmlReader"/>: constant
/// memory whatever the size. Records and Workouts come out as <see cref="ExportEntry"/>s in document order; every other
/// element is counted in the tally as unsupported, with why.
/// </summary>
internal sealed class ExportReader : IDisposable
{
    private readonly FileStream _file;
    private readonly ZipArchive? _zip;
    private readonly CountingStream _xml;
    private readonly ImportTally _tally;

    private ExportReader(FileStream file, ZipArchive? zip, Stream xml, long length, ImportTally tally)
    {
        _file = file;
        _zip = zip;
        _xml = new CountingStream(xml);
        Length = length;
        _tally = tally;
    }

    /// <summary>Uncompressed bytes of export.xml (the progress bar's total).</summary>
    public long Length { get; }

    /// <summary>Uncompressed bytes of export.xml read so far.</summary>
    public long BytesRead => _xml.BytesRead;

    /// <summary>The ExportDate element's value, once read (it precedes the data).</summary>
    public string? ExportDate { get; private set; }

    /// <summary>Opens export.xml, or the export.xml inside an export.zip (apple_health_export/export.xml).</summary>
    public static ExportReader Open(string path, ImportTally tally)
    {
        var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        try
        {
            Span<byte> magic = stackalloc byte[4];
            var isZip = file.Read(magic) == 4 && magic.SequenceEqual("PK\u0003\u0004"u8);
            file.Position = 0;
            if (!isZip)
            {
                return new ExportReader(file, null, file, file.Length, tally);
            }

            var zip = new ZipArchive(file, ZipArchiveMode.Read, leaveOpen: true);
            var entry = zip.Entries.FirstOrDefault(e => e.FullName == "export.xml" || e.FullName.EndsWith("/export.xml", StringComparison.Ordinal))
                ?? throw new InvalidDataException($"'{path}' is a zip without an export.xml (an Apple Health export.zip holds apple_health_export/export.xml).");
            return new ExportReader(file, zip, entry.Open(), entry.Length, tally);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The export's internal DTD is parsed (HealthKit writes one) but can neither fetch anything (no resolver) nor expand
    /// entities beyond a small bound: a hostile "billion laughs" file fails instead of exhausting memory.
    /// </summary>
    public static XmlReaderSettings Settings { get; } = new()
    {
        DtdProcessing = DtdProcessing.Parse,
        XmlResolver = null,
        MaxCharactersFromEntities = 64 * 1024,
        IgnoreWhitespace = true,
        IgnoreComments = true,
        IgnoreProcessingInstructions = true,
    };

    /// <summary>
    /// The export's identity: SHA-256 of the first MiB of export.xml (its header holds the ExportDate), the same for the zip
    /// and the unzipped file, and for a truncated copy of the same export. Reads from the start: use a reader of its own.
    /// </summary>
    public string Fingerprint()
    {
        var prefix = new byte[1 << 20];
        var length = 0;
        int n;
        while (length < prefix.Length && (n = _xml.Read(prefix, length, prefix.Length - length)) > 0)
        {
            length += n;
        }

        return Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(prefix.AsSpan(0, length)))[..24];
    }

    /// <summary>The Records and Workouts, in document order; an <see cref="XmlException"/> names the line of a malformed file.</summary>
    public IEnumerable<ExportEntry> Entries()
    {
        using var xml = XmlReader.Create(_xml, Settings);
        long ordinal = 0;
        xml.MoveToContent();
        while (!xml.EOF)
        {
            if (xml.NodeType != XmlNodeType.Element)
            {
                xml.Read();
                continue;
            }

            switch (xml.LocalName)
            {
                case "Record":
                    yield return ReadRecord(xml, ordinal++);
                    break;
                case "Workout":
                    yield return ReadWorkout(xml, ordinal++);
                    break;
                case "HealthData":
                    xml.Read();
                    break;
                case "ExportDate":
                    ExportDate = xml.GetAttribute("value");
                    xml.Skip();
                    break;
                case "Correlation":
                    // Its nested Records are read next, each as its own sample; the correlation itself is not a sample.
                    _tally.Unsupported(xml.GetAttribute("type") ?? "Correlation", "a correlation is not a sample: its nested records are imported as their own samples");
                    xml.Read();
                    break;
                case "MetadataEntry":
                    xml.Skip(); // of a Correlation (a Record's or Workout's own are read with it)
                    break;
                case "Me":
                    _tally.Unsupported("Me", "characteristics (date of birth, sex, blood type) are not samples");
                    xml.Skip();
                    break;
                case "ActivitySummary":
                    _tally.Unsupported("ActivitySummary", "a daily summary is a record, and the SDK's ISampleSource sends sample sets only");
                    xml.Skip();
                    break;
                default:
                    _tally.Unsupported(xml.LocalName, $"the protocol has no kind for <{xml.LocalName}> elements");
                    xml.Skip();
                    break;
            }
        }
    }

    public void Dispose()
    {
        _xml.Dispose();
        _zip?.Dispose();
        _file.Dispose();
    }

    private static ExportEntry ReadRecord(XmlReader xml, long ordinal)
    {
        var entry = new ExportEntry
        {
            Ordinal = ordinal,
            Type = xml.GetAttribute("type"),
            SourceName = xml.GetAttribute("sourceName"),
            SourceVersion = xml.GetAttribute("sourceVersion"),
            Device = xml.GetAttribute("device"),
            Unit = xml.GetAttribute("unit"),
            CreationDate = xml.GetAttribute("creationDate"),
            StartDate = xml.GetAttribute("startDate"),
            EndDate = xml.GetAttribute("endDate"),
            Value = xml.GetAttribute("value"),
        };
        ReadChildren(xml, entry);
        return entry;
    }

    private static ExportEntry ReadWorkout(XmlReader xml, long ordinal)
    {
        var entry = new ExportEntry
        {
            Ordinal = ordinal,
            IsWorkout = true,
            Type = xml.GetAttribute("workoutActivityType"),
            SourceName = xml.GetAttribute("sourceName"),
            SourceVersion = xml.GetAttribute("sourceVersion"),
            Device = xml.GetAttribute("device"),
            CreationDate = xml.GetAttribute("creationDate"),
            StartDate = xml.GetAttribute("startDate"),
            EndDate = xml.GetAttribute("endDate"),
        };
        AddMeasure(xml, entry, "duration", "durationUnit");
        AddMeasure(xml, entry, "totalDistance", "totalDistanceUnit");
        AddMeasure(xml, entry, "totalEnergyBurned", "totalEnergyBurnedUnit");
        ReadChildren(xml, entry);
        return entry;
    }

    private static void AddMeasure(XmlReader xml, ExportEntry entry, string value, string unit)
    {
        if (xml.GetAttribute(value) is { Length: > 0 } v)
        {
            entry.Attributes.Add(KeyValuePair.Create(value, xml.GetAttribute(unit) is { Length: > 0 } u ? $"{v} {u}" : v));
        }
    }

    /// <summary>Reads the element's children up to and past its end tag.</summary>
    private static void ReadChildren(XmlReader xml, ExportEntry entry)
    {
        if (xml.IsEmptyElement)
        {
            xml.Read();
            return;
        }

        var depth = xml.Depth;
        xml.Read();
        while (!xml.EOF && !(xml.Depth == depth && xml.NodeType == XmlNodeType.EndElement))
        {
            if (xml.NodeType != XmlNodeType.Element)
            {
                xml.Read();
                continue;
            }

            switch (xml.LocalName)
            {
                case "MetadataEntry":
                    entry.Metadata.Add(KeyValuePair.Create(xml.GetAttribute("key") ?? string.Empty, xml.GetAttribute("value") ?? string.Empty));
                    xml.Skip();
                    break;
                case "HeartRateVariabilityMetadataList":
                    xml.Read(); // into its InstantaneousBeatsPerMinute children
                    break;
                case "InstantaneousBeatsPerMinute":
                    entry.Beats.Add(new ExportBeat(xml.GetAttribute("bpm"), xml.GetAttribute("time")));
                    xml.Skip();
                    break;
                default:
                    entry.NestedUnsupported[xml.LocalName] = entry.NestedUnsupported.GetValueOrDefault(xml.LocalName) + 1;
                    xml.Skip();
                    break;
            }
        }

        xml.Read(); // past the end tag
    }

    /// <summary>Counts the bytes the XML parser pulled (the progress bar's position), zip or not.</summary>
    private sealed class CountingStream(Stream inner) : Stream
    {
        private long _read;

        public long BytesRead => Interlocked.Read(ref _read);

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => BytesRead; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Count(inner.Read(buffer, offset, count));

        public override int Read(Span<byte> buffer) => Count(inner.Read(buffer));

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
            }

            base.Dispose(disposing);
        }

        private int Count(int n)
        {
            Interlocked.Add(ref _read, n);
            return n;
        }
    }
}
