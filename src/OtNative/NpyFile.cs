using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace OtNative;

/// <summary>A float64 array read from or written to a file: the values in C (row-major) order and the shape.</summary>
/// <param name="Data">The values, row-major.</param>
/// <param name="Shape">One entry per dimension (1-D or 2-D).</param>
public sealed record NumericArray(double[] Data, int[] Shape)
{
    /// <summary>As an n×d matrix: a 2-D array as is, a 1-D array of length n as n×1.</summary>
    public double[,] ToMatrix()
    {
        int rows = Shape[0], cols = Shape.Length == 2 ? Shape[1] : 1;
        var m = new double[rows, cols];
        Buffer.BlockCopy(Data, 0, m, 0, Data.Length * sizeof(double));
        return m;
    }

    /// <summary>As a vector: a 1-D array, or a 2-D array with one row or one column.</summary>
    /// <exception cref="FormatException">The array is a genuine matrix.</exception>
    public double[] ToVector() =>
        Shape.Length == 1 || Shape[0] == 1 || Shape[1] == 1
            ? (double[])Data.Clone()
            : throw new FormatException($"Expected a vector, got a {Shape[0]}x{Shape[1]} array.");

    /// <summary>Wraps a matrix (copied).</summary>
    public static NumericArray FromMatrix(double[,] m)
    {
        var data = new double[m.Length];
        Buffer.BlockCopy(m, 0, data, 0, data.Length * sizeof(double));
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

    /// <summary>Reads a float64 .npy file.</summary>
    /// <exception cref="FormatException">Not an .npy file, not float64, Fortran order, or more than two dimensions; the message says which.</exception>
    public static NumericArray Read(string path)
    {
        var bytes = File.ReadAllBytes(path);
        if (bytes.Length < 10 || !bytes.AsSpan(0, 6).SequenceEqual(Magic))
            throw new FormatException($"{path} is not a NumPy .npy file (bad magic bytes).");
        int major = bytes[6];
        int headerLength, headerStart;
        if (major == 1) { headerLength = BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(8)); headerStart = 10; }
        else if (major is 2 or 3) { headerLength = (int)BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(8)); headerStart = 12; }
        else throw new FormatException($"{path}: unsupported .npy format version {major}.");
        if (headerStart + headerLength > bytes.Length)
            throw new FormatException($"{path}: truncated .npy header.");
        var header = Encoding.Latin1.GetString(bytes, headerStart, headerLength);
        var descr = DescrPattern().Match(header);
        var fortran = FortranPattern().Match(header);
        var shape = ShapePattern().Match(header);
        if (!descr.Success || !fortran.Success || !shape.Success)
            throw new FormatException($"{path}: unreadable .npy header '{header.Trim()}'.");
        if (descr.Groups[1].Value is not ("<f8" or "=f8"))
            throw new FormatException($"{path}: expected float64 ('<f8') data, got '{descr.Groups[1].Value}'; save it with arr.astype(np.float64).");
        if (fortran.Groups[1].Value == "True")
            throw new FormatException($"{path}: Fortran-ordered arrays are not supported; save np.ascontiguousarray(arr).");
        var dims = shape.Groups[1].Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray();
        if (dims.Length is 0 or > 2)
            throw new FormatException($"{path}: expected a 1-D or 2-D array, got {dims.Length} dimensions.");
        long count = dims.Aggregate(1L, (p, d) => p * d);
        int dataStart = headerStart + headerLength;
        if (bytes.Length - dataStart != count * sizeof(double))
            throw new FormatException($"{path}: expected {count} float64 values after the header, found {(bytes.Length - dataStart) / 8.0}.");
        var data = new double[count];
        for (int i = 0; i < count; i++)
            data[i] = BinaryPrimitives.ReadDoubleLittleEndian(bytes.AsSpan(dataStart + 8 * i));
        return new NumericArray(data, dims);
    }

    /// <summary>Writes a float64 .npy file (format 1.0, C order).</summary>
    public static void Write(string path, NumericArray array)
    {
        var shape = array.Shape.Length == 1 ? $"({array.Shape[0]},)" : $"({string.Join(", ", array.Shape)})";
        var dict = $"{{'descr': '<f8', 'fortran_order': False, 'shape': {shape}, }}";
        // Pad so that the data starts on a 64-byte boundary, header ending in '\n'.
        int unpadded = 10 + dict.Length + 1;
        var header = dict + new string(' ', (64 - unpadded % 64) % 64) + "\n";
        using var stream = new FileStream(path, FileMode.Create, FileAccess.Write);
        stream.Write(Magic);
        stream.Write([1, 0]);
        Span<byte> len = stackalloc byte[2];
        BinaryPrimitives.WriteUInt16LittleEndian(len, (ushort)header.Length);
        stream.Write(len);
        stream.Write(Encoding.Latin1.GetBytes(header));
        var buffer = new byte[array.Data.Length * sizeof(double)];
        for (int i = 0; i < array.Data.Length; i++)
            BinaryPrimitives.WriteDoubleLittleEndian(buffer.AsSpan(8 * i), array.Data[i]);
        stream.Write(buffer);
    }

    /// <summary>Writes a matrix as a 2-D .npy file.</summary>
    public static void Write(string path, double[,] matrix) => Write(path, NumericArray.FromMatrix(matrix));

    /// <summary>Writes a vector as a 1-D .npy file.</summary>
    public static void Write(string path, double[] vector) => Write(path, new NumericArray(vector, [vector.Length]));
}

/// <summary>Reads numeric arrays from <c>.npy</c> or <c>.csv</c> files, chosen by extension.</summary>
public static class ArrayFile
{
    /// <summary>Reads <paramref name="path"/>: <c>.npy</c> as NumPy float64, anything else as CSV.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="FormatException">The content is not a numeric 1-D/2-D array.</exception>
    public static NumericArray Read(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"File not found: {path}", path);
        return Path.GetExtension(path).Equals(".npy", StringComparison.OrdinalIgnoreCase) ? NpyFile.Read(path) : ReadCsv(path);
    }

    /// <summary>CSV: one row per line, values separated by commas (or whitespace/semicolons); a first line that is not numeric is a header.</summary>
    public static NumericArray ReadCsv(string path)
    {
        var rows = new List<double[]>();
        int lineNo = 0;
        foreach (var raw in File.ReadLines(path))
        {
            lineNo++;
            var line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#')) continue;
            var cells = line.Split([',', ';', ' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
            var values = new double[cells.Length];
            bool numeric = true;
            for (int i = 0; i < cells.Length && numeric; i++)
                numeric = double.TryParse(cells[i], NumberStyles.Float, CultureInfo.InvariantCulture, out values[i]);
            if (!numeric)
            {
                if (rows.Count == 0 && lineNo == 1) continue; // header
                throw new FormatException($"{path}:{lineNo}: not a number in '{line}'.");
            }
            if (rows.Count > 0 && values.Length != rows[0].Length)
                throw new FormatException($"{path}:{lineNo}: {values.Length} columns, but the first row has {rows[0].Length}.");
            rows.Add(values);
        }
        if (rows.Count == 0) throw new FormatException($"{path}: no numeric rows.");
        return new NumericArray(rows.SelectMany(r => r).ToArray(), [rows.Count, rows[0].Length]);
    }
}
