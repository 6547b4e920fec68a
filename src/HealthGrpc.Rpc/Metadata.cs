using System.Collections;
using System.Text;

namespace HealthGrpc.Rpc;

/// <summary>
/// gRPC metadata (request headers, response headers, trailers): an ordered multi-map with lower-case keys.
/// Keys ending in <c>-bin</c> carry binary values (base64 on the wire); all other values are printable ASCII.
/// </summary>
public sealed class Metadata : IEnumerable<Metadata.Entry>
{
    public const string BinarySuffix = "-bin";

    private readonly List<Entry> _entries = [];

    public int Count => _entries.Count;

    public Entry this[int index] => _entries[index];

    public void Add(string key, string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var normalized = NormalizeKey(key);
        if (IsBinaryKey(normalized))
        {
            throw new ArgumentException($"Metadata key '{normalized}' ends in '-bin': add a byte[] value.", nameof(key));
        }

        foreach (var c in value)
        {
            if (c < 0x20 || c > 0x7E)
            {
                throw new ArgumentException($"Metadata value for '{normalized}' must be printable ASCII.", nameof(value));
            }
        }

        _entries.Add(new Entry(normalized, value, null));
    }

    public void Add(string key, byte[] value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var normalized = NormalizeKey(key);
        if (!IsBinaryKey(normalized))
        {
            throw new ArgumentException($"Binary metadata key '{normalized}' must end in '-bin'.", nameof(key));
        }

        _entries.Add(new Entry(normalized, null, value));
    }

    public void Add(Entry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        if (entry.IsBinary)
        {
            Add(entry.Key, entry.ValueBytes);
        }
        else
        {
            Add(entry.Key, entry.Value);
        }
    }

    /// <summary>The last string value for <paramref name="key"/>, or null.</summary>
    public string? GetValue(string key)
    {
        var normalized = key.ToLowerInvariant();
        for (var i = _entries.Count - 1; i >= 0; i--)
        {
            if (_entries[i].Key == normalized)
            {
                return _entries[i].Value;
            }
        }

        return null;
    }

    /// <summary>The last binary value for <paramref name="key"/> (a <c>-bin</c> key), or null.</summary>
    public byte[]? GetBytes(string key)
    {
        var normalized = key.ToLowerInvariant();
        for (var i = _entries.Count - 1; i >= 0; i--)
        {
            if (_entries[i].Key == normalized)
            {
                return _entries[i].ValueBytes;
            }
        }

        return null;
    }

    /// <summary>All entries for <paramref name="key"/>, in order.</summary>
    public IEnumerable<Entry> GetAll(string key)
    {
        var normalized = key.ToLowerInvariant();
        foreach (var e in _entries)
        {
            if (e.Key == normalized)
            {
                yield return e;
            }
        }
    }

    public bool Remove(string key) => _entries.RemoveAll(e => string.Equals(e.Key, key, StringComparison.OrdinalIgnoreCase)) > 0;

    public void Clear() => _entries.Clear();

    public IEnumerator<Entry> GetEnumerator() => _entries.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    internal static bool IsBinaryKey(string key) => key.EndsWith(BinarySuffix, StringComparison.OrdinalIgnoreCase);

    private static string NormalizeKey(string key)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        var lower = key.ToLowerInvariant();
        foreach (var c in lower)
        {
            if (!(c is >= 'a' and <= 'z' or >= '0' and <= '9' or '-' or '_' or '.'))
            {
                throw new ArgumentException($"Metadata key '{key}' contains an invalid character '{c}'.", nameof(key));
            }
        }

        if (lower.StartsWith("grpc-", StringComparison.Ordinal))
        {
            throw new ArgumentException($"Metadata key '{key}' is reserved (grpc- prefix).", nameof(key));
        }

        return lower;
    }

    /// <summary>Decodes base64 with or without padding (the gRPC spec allows both on read).</summary>
    internal static byte[] DecodeBinaryValue(string value)
    {
        var trimmed = value.Trim();
        var rem = trimmed.Length % 4;
        if (rem != 0)
        {
            trimmed += new string('=', 4 - rem);
        }

        return Convert.FromBase64String(trimmed);
    }

    internal static string EncodeBinaryValue(byte[] value) => Convert.ToBase64String(value);

    /// <summary>Adds a header received from the wire (lower-cased key, raw value) without reserved-key checks.</summary>
    internal void AddFromWire(string key, string value)
    {
        var lower = key.ToLowerInvariant();
        if (IsBinaryKey(lower))
        {
            // Several binary values may arrive comma-joined in one header line.
            foreach (var part in value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                _entries.Add(new Entry(lower, null, DecodeBinaryValue(part)));
            }
        }
        else
        {
            _entries.Add(new Entry(lower, value, null));
        }
    }

    public override string ToString()
    {
        var sb = new StringBuilder("Metadata[");
        for (var i = 0; i < _entries.Count; i++)
        {
            if (i > 0)
            {
                sb.Append(", ");
            }

            sb.Append(_entries[i]);
        }

        return sb.Append(']').ToString();
    }

    /// <summary>One metadata entry: a string value, or a binary value for <c>-bin</c> keys.</summary>
    public sealed class Entry
    {
        private readonly string? _value;
        private readonly byte[]? _bytes;

        internal Entry(string key, string? value, byte[]? bytes)
        {
            Key = key;
            _value = value;
            _bytes = bytes;
        }

        public string Key { get; }

        public bool IsBinary => _bytes is not null;

        /// <summary>The string value (for binary entries: base64 of the bytes).</summary>
        public string Value => _value ?? EncodeBinaryValue(_bytes!);

        /// <summary>The binary value (for string entries: their ASCII bytes).</summary>
        public byte[] ValueBytes => _bytes ?? Encoding.ASCII.GetBytes(_value!);

        /// <summary>The value as sent on the wire.</summary>
        internal string WireValue => _bytes is null ? _value! : EncodeBinaryValue(_bytes);

        public override string ToString() => IsBinary ? $"{Key}=<{_bytes!.Length} bytes>" : $"{Key}={_value}";
    }
}
