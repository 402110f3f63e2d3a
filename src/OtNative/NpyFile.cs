using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.RegularExpressions;

namespace OtNative;

/// <summary>A float64 array read from or written to a file: the values in C (row-major) order and the shape.</summary>
/// <param name="Data">The values, row-major.</param>
/// <param name="Shape">One entry per dimension (1-D or 2-D).</param>
public sealed record NumericArray(double[] Data, int[] Shape)
{
    /// <summary>As an n×d matrix: a 2-D array as is, a 1-D array of length n as n×1.</summary>
    /// <returns>A new matrix holding a copy of the values.</returns>
    public double[,] ToMatrix()
    {
        int rows = Shape[0], cols = Shape.Length == 2 ? Shape[1] : 1;
        var m = new double[rows, cols];
        Data.AsSpan().CopyTo(MemoryMarshal.CreateSpan(ref Unsafe.As<byte, double>(ref MemoryMarshal.GetArrayDataReference(m)), m.Length));
        return m;
    }

    /// <summary>As a vector: a 1-D array, or a 2-D array with one row or one column.</summary>
    /// <returns>A copy of the values.</returns>
    /// <exception cref="FormatException">The array is a genuine matrix.</exception>
    public double[] ToVector() =>
        Shape.Length == 1 || Shape[0] == 1 || Shape[1] == 1
            ? (double[])Data.Clone()
            : throw new FormatException($"Expected a vector, got a {Shape[0]}x{Shape[1]} array.");

    /// <summary>Wraps a matrix (copied).</summary>
    /// <param name="m">The matrix (rows×columns); its values are copied row by row.</param>
    /// <returns>A 2-D array of the matrix's shape.</returns>
    public static NumericArray FromMatrix(double[,] m)
    {
        var data = new double[m.Length];
        MemoryMarshal.CreateReadOnlySpan(ref Unsafe.As<byte, double>(ref MemoryMarshal.GetArrayDataReference(m)), m.Length).CopyTo(data);
        return new NumericArray(data, [m.GetLength(0), m.GetLength(1)]);
    }
}

/// <summary>
/// NumPy <c>.npy</c> files (format 1.0–3.0), float64 little-endian in C order, 1-D or 2-D —
/// the layout numpy writes for <c>np.save(path, arr.astype(np.float64))</c>.
/// </summary>
public static partial class NpyFile
{
    private static readonly byte[] Magic = [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y'];

    [GeneratedRegex(@"'descr'\s*:\s*'([^']*)'")]
    private static partial Regex DescrPattern();

    [GeneratedRegex(@"'fortran_order'\s*:\s*(True|False)")]
    private static partial Regex FortranPattern();

    [GeneratedRegex(@"'shape'\s*:\s*\(([^)]*)\)")]
    private static partial Regex ShapePattern();

    /// <summary>
    /// Reads a float64 .npy file. The header is checked against the file before anything is allocated: a header that
    /// claims more (or less) data than the file holds, a negative or overflowing shape, or a header longer than the file
    /// is refused; the data are read in chunks, so files beyond 2 GB load as long as the array fits in memory.
    /// </summary>
    /// <param name="path">The file's path.</param>
    /// <returns>The values in C order and the shape (1-D or 2-D).</returns>
    /// <exception cref="FormatException">Not an .npy file, not float64, Fortran order, more than two dimensions, or a header that does not match the file; the message names the file and says which.</exception>
    public static NumericArray Read(string path)
    {
        using var stream = ArrayFile.OpenForReading(path);
        long fileLength = stream.Length;
        Span<byte> prefix = stackalloc byte[12];
        if (fileLength < 10 || stream.ReadAtLeast(prefix[..10], 10, throwOnEndOfStream: false) < 10 || !prefix[..6].SequenceEqual(Magic))
            throw new FormatException($"{path} is not a NumPy .npy file (bad magic bytes).");
        int major = prefix[6];
        long headerLength, headerStart;
        if (major == 1) { headerLength = BinaryPrimitives.ReadUInt16LittleEndian(prefix[8..]); headerStart = 10; }
        else if (major is 2 or 3)
        {
            if (stream.ReadAtLeast(prefix[10..12], 2, throwOnEndOfStream: false) < 2) throw new FormatException($"{path}: truncated .npy header.");
            headerLength = BinaryPrimitives.ReadUInt32LittleEndian(prefix[8..]);
            headerStart = 12;
        }
        else throw new FormatException($"{path}: unsupported .npy format version {major}.");
        if (headerStart + headerLength > fileLength)
            throw new FormatException($"{path}: the .npy header claims {headerLength} bytes but the file has {fileLength - headerStart} after the prefix.");
        var headerBytes = new byte[headerLength];
        stream.ReadExactly(headerBytes);
        var header = Encoding.Latin1.GetString(headerBytes);
        var descr = DescrPattern().Match(header);
        var fortran = FortranPattern().Match(header);
        var shape = ShapePattern().Match(header);
        if (!descr.Success || !fortran.Success || !shape.Success)
            throw new FormatException($"{path}: unreadable .npy header '{Printable(header)}'.");
        if (descr.Groups[1].Value is not ("<f8" or "=f8"))
            throw new FormatException($"{path}: expected float64 ('<f8') data, got '{Printable(descr.Groups[1].Value)}'; save it with arr.astype(np.float64).");
        if (fortran.Groups[1].Value == "True")
            throw new FormatException($"{path}: Fortran-ordered arrays are not supported; save np.ascontiguousarray(arr).");
        var dims = shape.Groups[1].Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(v => long.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out var d) ? d
                : throw new FormatException($"{path}: the .npy shape entry '{Printable(v)}' is not a non-negative integer."))
            .ToArray();
        if (dims.Length is 0 or > 2)
            throw new FormatException($"{path}: expected a 1-D or 2-D array, got {dims.Length} dimensions.");
        long dataBytes = fileLength - headerStart - headerLength;
        // The shape must describe exactly the bytes the file holds; checked in a way that cannot overflow.
        long count = dims.Length == 1 ? dims[0] : (dims[1] == 0 ? 0 : dims[0] > dataBytes / 8 / dims[1] ? -1 : dims[0] * dims[1]);
        if (count < 0 || count > dataBytes / 8 || count * 8 != dataBytes)
            throw new FormatException($"{path}: the header claims shape ({string.Join(", ", dims)}) but the file holds {dataBytes} bytes of data ({dataBytes / 8.0} float64 values).");
        if (dims.Any(d => d > int.MaxValue) || count > Array.MaxLength)
            throw new FormatException($"{path}: shape ({string.Join(", ", dims)}) is too large for one .NET array.");
        var data = new double[count];
        var buffer = new byte[1 << 20];
        for (long done = 0; done < count;)
        {
            int chunk = (int)Math.Min(buffer.Length / 8, count - done);
            stream.ReadExactly(buffer, 0, chunk * 8);
            for (int i = 0; i < chunk; i++) data[done + i] = BinaryPrimitives.ReadDoubleLittleEndian(buffer.AsSpan(8 * i));
            done += chunk;
        }
        return new NumericArray(data, dims.Select(d => (int)d).ToArray());
    }

    /// <summary>Header text safe to echo: control and non-ASCII bytes shown as '?', at most 80 characters.</summary>
    private static string Printable(string text)
    {
        var safe = new string(text.Trim().Select(c => c is >= ' ' and <= '~' ? c : '?').ToArray());
        return safe.Length <= 80 ? safe : safe[..80] + "…";
    }

    /// <summary>
    /// Writes a float64 .npy file (format 1.0, C order). It is written to a temporary file beside the target and
    /// renamed over it, so a failure never leaves a half-written file.
    /// </summary>
    /// <param name="path">The file to write (replaced if it exists; its folder must exist).</param>
    /// <param name="array">The values and shape (1-D or 2-D) to write.</param>
    public static void Write(string path, NumericArray array)
    {
        ArgumentNullException.ThrowIfNull(array);
        WriteValues(path, array.Shape, array.Data, static data => data);
    }

    /// <summary>Writes a matrix as a 2-D .npy file, straight from its storage (a dense Hessian is not copied first).</summary>
    /// <param name="path">The file to write (replaced as a unit if it exists; its folder must exist).</param>
    /// <param name="matrix">The matrix (rows×columns).</param>
    public static void Write(string path, double[,] matrix)
    {
        ArgumentNullException.ThrowIfNull(matrix);
        WriteValues(path, [matrix.GetLength(0), matrix.GetLength(1)], matrix,
            static m => MemoryMarshal.CreateReadOnlySpan(ref Unsafe.As<byte, double>(ref MemoryMarshal.GetArrayDataReference(m)), m.Length));
    }

    private static void WriteValues<T>(string path, int[] shape, T storage, SpanOf<T> values)
    {
        var shapeText = shape.Length == 1 ? $"({shape[0]},)" : $"({string.Join(", ", shape)})";
        var dict = $"{{'descr': '<f8', 'fortran_order': False, 'shape': {shapeText}, }}";
        // Pad so that the data starts on a 64-byte boundary, header ending in '\n'.
        int unpadded = 10 + dict.Length + 1;
        var header = dict + new string(' ', (64 - unpadded % 64) % 64) + "\n";
        ArrayFile.WriteAtomically(path, stream =>
        {
            stream.Write(Magic);
            stream.Write([1, 0]);
            Span<byte> len = stackalloc byte[2];
            BinaryPrimitives.WriteUInt16LittleEndian(len, (ushort)header.Length);
            stream.Write(len);
            stream.Write(Encoding.Latin1.GetBytes(header));
            var buffer = new byte[1 << 20];
            long count = values(storage).Length;
            for (long done = 0; done < count;)
            {
                int chunk = (int)Math.Min(buffer.Length / 8, count - done);
                var data = values(storage).Slice((int)done, chunk);
                for (int i = 0; i < chunk; i++) BinaryPrimitives.WriteDoubleLittleEndian(buffer.AsSpan(8 * i), data[i]);
                stream.Write(buffer, 0, chunk * 8);
                done += chunk;
            }
        });
    }

    /// <summary>The values of some storage, as a span (a span cannot be captured by the writing lambda itself).</summary>
    private delegate ReadOnlySpan<double> SpanOf<in T>(T storage);

    /// <summary>Writes a vector as a 1-D .npy file.</summary>
    /// <param name="path">The file to write (replaced as a unit if it exists; its folder must exist).</param>
    /// <param name="vector">The values.</param>
    public static void Write(string path, double[] vector) => Write(path, new NumericArray(vector, [vector.Length]));
}

/// <summary>Reads numeric arrays from <c>.npy</c> or <c>.csv</c> files, chosen by extension.</summary>
public static class ArrayFile
{
    /// <summary>Reads <paramref name="path"/>: <c>.npy</c> as NumPy float64, anything else as CSV.</summary>
    /// <param name="path">The file's path; its extension chooses the format.</param>
    /// <returns>The values in C order and the shape (1-D or 2-D).</returns>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="UnauthorizedAccessException">The file cannot be read; the message names it.</exception>
    /// <exception cref="FormatException">A directory, an empty or special file, or content that is not a numeric 1-D/2-D array.</exception>
    public static NumericArray Read(string path) =>
        Path.GetExtension(path).Equals(".npy", StringComparison.OrdinalIgnoreCase) ? NpyFile.Read(path) : ReadCsv(path);

    /// <summary>Opens a data file for reading, with the reasons it cannot be read said in words that name it.</summary>
    internal static FileStream OpenForReading(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (Directory.Exists(path)) throw new FormatException($"{path} is a directory, not a data file.");
        if (!File.Exists(path)) throw new FileNotFoundException($"File not found: {path}", path);
        try
        {
            var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
            // Devices and pipes report no length: nothing bounds what they would feed a reader.
            if (stream.Length == 0)
            {
                stream.Dispose();
                throw new FormatException($"{path} is empty (or not a regular file).");
            }
            return stream;
        }
        catch (UnauthorizedAccessException)
        {
            throw new UnauthorizedAccessException($"Cannot read {path}: permission denied.");
        }
    }

    /// <summary>The temporary files of this process's writes in progress.</summary>
    private static readonly ConcurrentDictionary<string, byte> WritesInProgress = new();

    /// <summary>The folders this process has already cleared of stale temporary files (once each: a batch writes thousands of files into one).</summary>
    private static readonly ConcurrentDictionary<string, byte> FoldersCleared = new();

    /// <summary>What a temporary file's name holds between the target's name and the writer's host and process id.</summary>
    private const string TemporaryMarker = ".otnative-";

    /// <summary>This machine's name as it goes into a temporary file's name (a dash would end it early).</summary>
    private static readonly string Host = Environment.MachineName.Replace('-', '_');

    /// <summary>
    /// Writes through <paramref name="write"/> into a temporary file beside <paramref name="path"/>, then renames it over
    /// the target. The temporary file is <c>.NAME.otnative-HOST-PID-ID.tmp</c>: it is deleted when the write fails or is
    /// cancelled, by <see cref="DeletePartialWrites"/> (a signal handler's call), and — when its process was killed
    /// outright — by the next write into the same folder from the same host, which recognises it by the dead writer's
    /// process id (a file from another host, on a shared file system, is left alone: its writer may be alive).
    /// </summary>
    /// <exception cref="IOException">The target cannot be written (disk full, a directory in the way); the message names the target, not the temporary file.</exception>
    /// <param name="path">The target file.</param>
    /// <param name="write">Writes the content into the stream given.</param>
    /// <exception cref="UnauthorizedAccessException">The target's folder cannot be written; the message names the target.</exception>
    public static void WriteAtomically(string path, Action<Stream> write)
    {
        var full = Path.GetFullPath(path);
        var directory = Path.GetDirectoryName(full)!;
        var name = Path.GetFileName(full);
        if (FoldersCleared.TryAdd(directory, 0)) RemoveStaleTemporaries(directory);
        var temporary = Path.Combine(directory, $".{name}{TemporaryMarker}{Host}-{Environment.ProcessId}-{Guid.NewGuid():N}.tmp");
        WritesInProgress[temporary] = 0;
        try
        {
            using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write))
                write(stream);
            File.Move(temporary, full, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException && e is not FileNotFoundException)
        {
            // The same kind of exception, its message naming the target the caller asked for.
            var message = $"Cannot write {full}: {e.Message.Replace(temporary, full, StringComparison.Ordinal)}";
            throw e switch
            {
                UnauthorizedAccessException => new UnauthorizedAccessException(message, e),
                DirectoryNotFoundException => new DirectoryNotFoundException(message, e),
                _ => new IOException(message, e),
            };
        }
        finally
        {
            WritesInProgress.TryRemove(temporary, out _);
            if (File.Exists(temporary)) File.Delete(temporary);
        }
    }

    /// <summary>
    /// Deletes the temporary files of this process's writes in progress; those writes then fail. For a handler of
    /// SIGINT and SIGTERM (the <c>otnative</c> command installs one), so that an interrupted run leaves no partial file
    /// behind. A process killed outright (SIGKILL) cannot clean up: the next write into the same folder removes its file.
    /// </summary>
    /// <returns>How many files were deleted.</returns>
    public static int DeletePartialWrites()
    {
        int deleted = 0;
        foreach (var temporary in WritesInProgress.Keys)
        {
            try
            {
                if (File.Exists(temporary)) { File.Delete(temporary); deleted++; }
            }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
        return deleted;
    }

    /// <summary>
    /// Deletes, best effort, the temporary files in <paramref name="directory"/> that this host's writers left when they
    /// were killed (their process no longer runs). A folder that cannot be listed is left as it is: the write itself
    /// decides whether it can go there.
    /// </summary>
    private static void RemoveStaleTemporaries(string directory)
    {
        try
        {
            if (!Directory.Exists(directory)) return;
            var ours = $"{TemporaryMarker}{Host}-";
            foreach (var file in Directory.EnumerateFiles(directory, $".*{TemporaryMarker}*.tmp"))
            {
                var fileName = Path.GetFileName(file);
                var at = fileName.LastIndexOf(ours, StringComparison.Ordinal);
                if (at < 0) continue;
                var rest = fileName[(at + ours.Length)..];
                var dash = rest.IndexOf('-');
                if (dash <= 0 || !int.TryParse(rest[..dash], NumberStyles.None, CultureInfo.InvariantCulture, out var pid) || IsRunning(pid)) continue;
                File.Delete(file);
            }
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }

    private static bool IsRunning(int pid)
    {
        if (pid == Environment.ProcessId) return true;
        try
        {
            using var process = System.Diagnostics.Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException) { return false; }
        catch (InvalidOperationException) { return false; }
    }

    /// <summary>
    /// CSV: one row per line, values separated by commas (or whitespace/semicolons). A first line with no numeric
    /// field at all is a header; any other field that does not parse is an error naming the line.
    /// </summary>
    /// <param name="path">The CSV file's path.</param>
    /// <returns>The values in C order with shape (rows, columns), a header line (no numeric field) skipped.</returns>
    public static NumericArray ReadCsv(string path)
    {
        using var reader = new StreamReader(OpenForReading(path));
        var rows = new List<double[]>();
        int lineNo = 0;
        bool seenContent = false;
        while (reader.ReadLine() is { } raw)
        {
            lineNo++;
            var line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#')) continue;
            var cells = line.Split([',', ';', ' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
            var values = new double[cells.Length];
            var parsed = cells.Select((c, i) => double.TryParse(c, NumberStyles.Float, CultureInfo.InvariantCulture, out values[i])).ToArray();
            bool header = !seenContent && parsed.All(p => !p);
            seenContent = true;
            if (header) continue;
            int bad = Array.IndexOf(parsed, false);
            if (bad >= 0)
                throw new FormatException($"{path}:{lineNo}: '{Clip(cells[bad])}' (field {bad + 1}) is not a number.");
            if (values.Any(v => !double.IsFinite(v)))
                throw new FormatException($"{path}:{lineNo}: field {Array.FindIndex(values, v => !double.IsFinite(v)) + 1} is not finite.");
            if (rows.Count > 0 && values.Length != rows[0].Length)
                throw new FormatException($"{path}:{lineNo}: {values.Length} columns, but the first row has {rows[0].Length}.");
            rows.Add(values);
        }
        if (rows.Count == 0) throw new FormatException($"{path}: no numeric rows.");
        return new NumericArray(rows.SelectMany(r => r).ToArray(), [rows.Count, rows[0].Length]);
    }

    private static string Clip(string cell)
    {
        var safe = new string(cell.Select(c => c is >= ' ' and <= '~' ? c : '?').ToArray());
        return safe.Length <= 40 ? safe : safe[..40] + "…";
    }
}
