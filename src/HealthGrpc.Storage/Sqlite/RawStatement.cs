using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace HealthGrpc.Storage.Sqlite;

/// <summary>
/// A persistent prepared statement driven directly through SQLitePCL (named parameters resolved once to their indexes, bound by index per row, step, reset) for the per-row hot
/// paths: it skips ADO.NET's per-execution parameter-name lookup, boxing and data-reader setup, which cost about as
/// much as SQLite's own work per row. Owned by the writer thread; finalized before its connection closes.
/// </summary>
internal sealed class RawStatement : IDisposable
{
    private readonly sqlite3 _db;
    private readonly sqlite3_stmt _stmt;

    public RawStatement(SqliteConnection connection, string sql)
    {
        _db = connection.Handle ?? throw new InvalidOperationException("The connection is not open.");
        var rc = raw.sqlite3_prepare_v3(_db, sql, raw.SQLITE_PREPARE_PERSISTENT, out _stmt);
        Check(rc);
    }

    /// <summary>The index of the named parameter (<c>$name</c> in the SQL); resolve it once, then bind by it per row.</summary>
    public int Parameter(string name)
    {
        var index = raw.sqlite3_bind_parameter_index(_stmt, name);
        return index > 0 ? index : throw new ArgumentException($"The statement has no parameter {name}.", nameof(name));
    }

    public void Int64(int index, long value) => raw.sqlite3_bind_int64(_stmt, index, value);

    public void Double(int index, double value) => raw.sqlite3_bind_double(_stmt, index, value);

    public void Null(int index) => raw.sqlite3_bind_null(_stmt, index);

    public void Text(int index, string? value)
    {
        if (value is null)
        {
            raw.sqlite3_bind_null(_stmt, index);
        }
        else
        {
            raw.sqlite3_bind_text(_stmt, index, value);
        }
    }

    public void Blob(int index, ReadOnlySpan<byte> value) => raw.sqlite3_bind_blob(_stmt, index, value);

    public void Int64OrNull(int index, long? value)
    {
        if (value is { } v)
        {
            raw.sqlite3_bind_int64(_stmt, index, v);
        }
        else
        {
            raw.sqlite3_bind_null(_stmt, index);
        }
    }

    public void DoubleOrNull(int index, double? value)
    {
        if (value is { } v)
        {
            raw.sqlite3_bind_double(_stmt, index, v);
        }
        else
        {
            raw.sqlite3_bind_null(_stmt, index);
        }
    }

    /// <summary>Runs a statement without result rows; returns the number of rows it changed.</summary>
    public int Execute()
    {
        var rc = raw.sqlite3_step(_stmt);
        if (rc != raw.SQLITE_DONE && rc != raw.SQLITE_ROW)
        {
            var error = Error(rc);
            raw.sqlite3_reset(_stmt);
            throw error;
        }

        raw.sqlite3_reset(_stmt);
        return raw.sqlite3_changes(_db);
    }

    /// <summary>Runs a statement and returns the first column of its first row as an integer (null when no row).</summary>
    public long? ScalarInt64()
    {
        var rc = raw.sqlite3_step(_stmt);
        try
        {
            if (rc == raw.SQLITE_ROW)
            {
                return raw.sqlite3_column_int64(_stmt, 0);
            }

            return rc == raw.SQLITE_DONE ? null : throw Error(rc);
        }
        finally
        {
            raw.sqlite3_reset(_stmt);
        }
    }

    public void Dispose() => _stmt.Dispose();

    private void Check(int rc)
    {
        if (rc != raw.SQLITE_OK)
        {
            throw Error(rc);
        }
    }

    private SqliteException Error(int rc)
        => new($"SQLite Error {rc}: '{raw.sqlite3_errmsg(_db).utf8_to_string()}'.", rc, raw.sqlite3_extended_errcode(_db));
}
