using System.Buffers.Binary;
using System.Text;
using Xunit;

namespace OtNative.Tests;

public class NpyFileTests
{
    [Fact]
    public void MatrixAndVectorRoundTripBitExactly()
    {
        var dir = TestData.TempDirectory();
        var m = new double[,] { { 1.5, -2.25, double.Epsilon }, { Math.PI, 1e300, -0.0 } };
        NpyFile.Write(Path.Combine(dir, "m.npy"), m);
        var back = NpyFile.Read(Path.Combine(dir, "m.npy"));
        Assert.Equal(new[] { 2, 3 }, back.Shape);
        Assert.Equal(m.Cast<double>().Select(BitConverter.DoubleToInt64Bits), back.Data.Select(BitConverter.DoubleToInt64Bits));
        NpyFile.Write(Path.Combine(dir, "v.npy"), new[] { 1.0, 2.0, 3.0 });
        var v = NpyFile.Read(Path.Combine(dir, "v.npy"));
        Assert.Equal(new[] { 3 }, v.Shape);
        Assert.Equal(new[] { 1.0, 2.0, 3.0 }, v.ToVector());
        Assert.Equal(3, v.ToMatrix().GetLength(0));
    }

    [Fact]
    public void HeaderIsVersionOneAndDataIs64ByteAligned()
    {
        var path = Path.Combine(TestData.TempDirectory(), "a.npy");
        NpyFile.Write(path, new double[7, 2]);
        var bytes = File.ReadAllBytes(path);
        int headerLength = BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(8));
        Assert.Equal(1, bytes[6]);
        Assert.Equal(0, (10 + headerLength) % 64);
        Assert.Equal('\n', (char)bytes[10 + headerLength - 1]);
        Assert.Contains("'shape': (7, 2)", Encoding.Latin1.GetString(bytes, 10, headerLength));
        Assert.Equal(10 + headerLength + 7 * 2 * 8, bytes.Length);
    }

    [Fact]
    public void ReadsAVersionTwoFileBuiltByHand()
    {
        var header = "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 2), }\n";
        var bytes = new List<byte> { 0x93 };
        bytes.AddRange("NUMPY"u8.ToArray());
        bytes.AddRange([2, 0]);
        bytes.AddRange(BitConverter.GetBytes((uint)header.Length));
        bytes.AddRange(Encoding.Latin1.GetBytes(header));
        foreach (var v in new[] { 1.0, 2.0, 3.0, 4.0 }) bytes.AddRange(BitConverter.GetBytes(v));
        var path = Path.Combine(TestData.TempDirectory(), "v2.npy");
        File.WriteAllBytes(path, bytes.ToArray());
        var m = NpyFile.Read(path).ToMatrix();
        Assert.Equal(3.0, m[1, 0]);
    }

    [Theory]
    [InlineData("<f4", "False", "float64")]
    [InlineData("<f8", "True", "Fortran")]
    public void RejectsOtherLayoutsWithAClearMessage(string descr, string fortran, string expected)
    {
        var header = $"{{'descr': '{descr}', 'fortran_order': {fortran}, 'shape': (1,), }}\n";
        var bytes = new List<byte> { 0x93 };
        bytes.AddRange("NUMPY"u8.ToArray());
        bytes.AddRange([1, 0]);
        bytes.AddRange(BitConverter.GetBytes((ushort)header.Length));
        bytes.AddRange(Encoding.Latin1.GetBytes(header));
        bytes.AddRange(new byte[8]);
        var path = Path.Combine(TestData.TempDirectory(), "bad.npy");
        File.WriteAllBytes(path, bytes.ToArray());
        Assert.Contains(expected, Assert.Throws<FormatException>(() => NpyFile.Read(path)).Message);
    }

    [Fact]
    public void CsvWithHeaderAndRaggedRows()
    {
        var dir = TestData.TempDirectory();
        File.WriteAllText(Path.Combine(dir, "ok.csv"), "x,y\n1,2\n3.5,-4e-1\n");
        var a = ArrayFile.Read(Path.Combine(dir, "ok.csv"));
        Assert.Equal(new[] { 2, 2 }, a.Shape);
        Assert.Equal(new[] { 1, 2, 3.5, -0.4 }, a.Data);
        File.WriteAllText(Path.Combine(dir, "bad.csv"), "1,2\n3\n");
        Assert.Contains("columns", Assert.Throws<FormatException>(() => ArrayFile.Read(Path.Combine(dir, "bad.csv"))).Message);
        Assert.Throws<FileNotFoundException>(() => ArrayFile.Read(Path.Combine(dir, "missing.npy")));
    }
}
