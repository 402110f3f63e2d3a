using System.Buffers.Binary;
using System.Text;
using FsCheck;
using FsCheck.Fluent;
using OtNative.Cli;
using Xunit;

namespace OtNative.Tests;

/// <summary>Lying headers, malformed CSV, odd files and unwritable outputs: refused cleanly, by the façade and the CLI alike.</summary>
[Collection("cli")]
public class HostileInputTests
{
    private static string Npy(string dir, string name, string header, int version = 1, long? claimedHeaderLength = null, int dataBytes = 0)
    {
        var path = Path.Combine(dir, name);
        using var s = File.Create(path);
        s.Write([0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', (byte)version, 0]);
        var bytes = Encoding.Latin1.GetBytes(header);
        if (version == 1) { Span<byte> l = stackalloc byte[2]; BinaryPrimitives.WriteUInt16LittleEndian(l, (ushort)(claimedHeaderLength ?? bytes.Length)); s.Write(l); }
        else { Span<byte> l = stackalloc byte[4]; BinaryPrimitives.WriteUInt32LittleEndian(l, (uint)(claimedHeaderLength ?? bytes.Length)); s.Write(l); }
        s.Write(bytes);
        s.Write(new byte[dataBytes]);
        return path;
    }

    private static (int Code, string Error) Cli(params string[] args) => CliRun.InProcess(args);

    [Theory]
    [InlineData("{'descr': '<f8', 'fortran_order': False, 'shape': (100000000000, 2), }", 1, null, "claims shape (100000000000, 2)")]
    [InlineData("{'descr': '<f8', 'fortran_order': False, 'shape': (-3, 2), }", 1, null, "'-3' is not a non-negative integer")]
    [InlineData("{'descr': '<f8', 'fortran_order': False, 'shape': (3, 2), }", 2, 4294967295L, "claims 4294967295 bytes")]
    [InlineData("{'descr': '<i4', 'fortran_order': False, 'shape': (2,), }", 1, null, "expected float64")]
    [InlineData("{'descr': '<f8', 'fortran_order': False, 'shape': (9223372036854775807, 9223372036854775807), }", 1, null, "claims shape")]
    public void LyingNpyHeadersAreUsageErrorsAboutTheFile(string header, int version, long? claimed, string expected)
    {
        var dir = TestData.TempDirectory();
        var path = Npy(dir, "bad.npy", header, version, claimed, dataBytes: 16);
        var ex = Assert.Throws<FormatException>(() => NpyFile.Read(path));
        Assert.Contains(expected, ex.Message);
        Assert.Contains(path, ex.Message);
        var (code, error) = Cli("solve", "--x", path, "--y", path, "--eps", "0.1");
        Assert.Equal(2, code);
        Assert.Contains(expected, error);
        Assert.Single(error.Trim().Split('\n'));
    }

    [Fact]
    public void DirectoriesEmptyFilesAndDevicesAreNamedForWhatTheyAre()
    {
        var dir = TestData.TempDirectory();
        Assert.Contains("is a directory", Assert.Throws<FormatException>(() => ArrayFile.Read(dir)).Message);
        var empty = Path.Combine(dir, "empty.csv");
        File.WriteAllText(empty, "");
        Assert.Contains("is empty", Assert.Throws<FormatException>(() => ArrayFile.Read(empty)).Message);
        if (File.Exists("/dev/zero"))
        {
            Assert.Contains("not a regular file", Assert.Throws<FormatException>(() => ArrayFile.Read("/dev/zero")).Message);
            Assert.Contains("not a regular file", Assert.Throws<FormatException>(() => NpyFile.Read("/dev/zero")).Message);
        }
        var (code, error) = Cli("solve", "--x", dir, "--y", dir, "--eps", "0.1");
        Assert.Equal(2, code);
        Assert.Contains("is a directory", error);
    }

    /// <summary>
    /// A file the process may not read: one with no permission bits, or — where the tests run as root, whom permission
    /// bits do not stop — a write-only sysfs attribute, which the kernel refuses to open for reading even to root.
    /// </summary>
    private static string UnreadableFile(string dir)
    {
        if (!OperatingSystem.IsLinux()) throw new PlatformNotSupportedException("this test makes its unreadable file with Unix permissions or sysfs");
        if (Environment.UserName != "root")
        {
            var path = Path.Combine(dir, "locked.csv");
            File.WriteAllText(path, "1,2\n3,4\n");
            File.SetUnixFileMode(path, UnixFileMode.None);
            return path;
        }
        const UnixFileMode anyRead = UnixFileMode.UserRead | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
        string[] candidates = ["/sys/bus/pci/rescan", .. Directory.Exists("/sys/bus") ? Directory.GetDirectories("/sys/bus").Select(b => Path.Combine(b, "drivers_probe")) : []];
        foreach (var candidate in candidates)
            if (File.Exists(candidate) && (File.GetUnixFileMode(candidate) & anyRead) == 0) return candidate;
        throw new InvalidOperationException("no unreadable file can be made here: running as root without a write-only sysfs attribute");
    }

    [Fact]
    public void AFileThatCannotBeReadIsAUsageErrorNamingIt()
    {
        var path = UnreadableFile(TestData.TempDirectory());
        var ex = Assert.Throws<UnauthorizedAccessException>(() => ArrayFile.Read(path));
        Assert.Equal($"Cannot read {path}: permission denied.", ex.Message);
        var (code, error) = Cli("solve", "--x", path, "--y", path, "--eps", "0.1");
        Assert.Equal(2, code);
        Assert.Contains($"Cannot read {path}: permission denied.", error);
        Assert.Single(error.Trim().Split('\n'));
    }

    [Theory]
    [InlineData("1.0,2.O\n3,4\n5,6\n", "1: '2.O' (field 2) is not a number")]
    [InlineData("inf,2\n3,4\n", "1: 'inf' (field 1) is not a number")]
    [InlineData("x,y\n1,2\n3,Infinity\n", "3: field 2 is not finite")]
    [InlineData("x,y\n1,2\n3\n", "3: 1 columns, but the first row has 2")]
    public void CsvRowsThatDoNotParseAreErrorsNamingTheLine(string text, string expected)
    {
        var dir = TestData.TempDirectory();
        var path = Path.Combine(dir, "d.csv");
        File.WriteAllText(path, text);
        var ex = Assert.Throws<FormatException>(() => ArrayFile.Read(path));
        Assert.Contains($"{path}:{expected}", ex.Message);
    }

    [Fact]
    public void ACsvHeaderIsOnlyARowWithNoNumberAtAll()
    {
        var dir = TestData.TempDirectory();
        var path = Path.Combine(dir, "d.csv");
        File.WriteAllText(path, "x,y\n1,2\n3,4\n5,6\n");
        Assert.Equal([3, 2], ArrayFile.Read(path).Shape);
    }

    [Fact]
    public void LargeArraysStreamThroughTheChunkedReaderAndWriterExactly()
    {
        var dir = TestData.TempDirectory();
        var path = Path.Combine(dir, "big.npy");
        var rng = new Random(3);
        var data = Enumerable.Range(0, 600_000).Select(_ => rng.NextDouble() - 0.5).ToArray(); // 4.8 MB: several 1 MiB chunks
        NpyFile.Write(path, new NumericArray(data, [300_000, 2]));
        var back = NpyFile.Read(path);
        Assert.Equal([300_000, 2], back.Shape);
        Assert.Equal(data, back.Data);
        Assert.Empty(Directory.GetFiles(dir, ".*.tmp"));
    }

    [Fact]
    public void AnUnwritableOutputFailsBeforeTheComputation()
    {
        var dir = TestData.TempDirectory();
        var x = Path.Combine(dir, "x.csv");
        File.WriteAllText(x, "1,2\n3,4\n5,6\n");
        // The output's "directory" is a file: nothing can be written under it.
        var (code, error) = Cli("hessian", "--x", x, "--y", x, "--eps", "0.1", "--out", Path.Combine(x, "h.npy"));
        Assert.Equal(2, code);
        Assert.Contains("--out", error);
        Assert.Contains("cannot write there", error);
        // A missing directory is created up front.
        var nested = Path.Combine(dir, "new", "deeper", "h.npy");
        Assert.Equal(0, Cli("hessian", "--x", x, "--y", x, "--eps", "0.1", "--out", nested).Code);
        Assert.True(File.Exists(nested));
    }

    [Fact]
    public void FuzzedNpyHeadersAreReadOrRefusedWithAFormatExceptionNeverAnythingElse()
    {
        var dir = TestData.TempDirectory();
        var pieces = Gen.Elements("{", "}", "'descr'", "'<f8'", "'<i4'", ":", ",", " ", "'fortran_order'", "False", "True", "'shape'", "(", ")",
            "3", "-1", "0", "99999999999999999999", "2", "\0", "é", "\n");
        var headers = Gen.Choose(0, 30).SelectMany(k => pieces.ArrayOf(k)).Select(p => string.Concat(p));
        var draws = headers.SelectMany(h => Gen.Choose(1, 3).SelectMany(v => Gen.Choose(0, 64).Select(bytes => (Header: h, Version: v, Bytes: bytes))));
        int counter = 0;
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(300), Prop.ForAll(draws.ToArbitrary(), draw =>
        {
            var path = Npy(dir, $"f{Interlocked.Increment(ref counter)}.npy", draw.Header, draw.Version, dataBytes: draw.Bytes);
            try
            {
                var array = NpyFile.Read(path);
                return array.Data.Length * 8 == draw.Bytes;
            }
            catch (FormatException e)
            {
                return e.Message.Contains(path);
            }
        }));
    }

    [Fact]
    public void FuzzedCsvIsReadOrRefusedWithAFormatExceptionNamingTheLine()
    {
        var dir = TestData.TempDirectory();
        var cells = Gen.Elements("1", "-2.5", "3e4", "x", "inf", "NaN", "2.O", "", " ", "1e999");
        var lines = Gen.Choose(1, 4).SelectMany(k => cells.ArrayOf(k)).Select(c => string.Join(",", c));
        var files = Gen.Choose(1, 6).SelectMany(k => lines.ArrayOf(k)).Select(l => string.Join("\n", l) + "\n");
        int counter = 0;
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(300), Prop.ForAll(files.ToArbitrary(), text =>
        {
            var path = Path.Combine(dir, $"f{Interlocked.Increment(ref counter)}.csv");
            File.WriteAllText(path, text);
            try
            {
                var array = ArrayFile.Read(path);
                return array.Data.All(double.IsFinite) && array.Data.Length == array.Shape[0] * array.Shape[1];
            }
            catch (FormatException e)
            {
                return e.Message.StartsWith(path, StringComparison.Ordinal);
            }
        }));
    }

    [Fact]
    public void ARefusalNamesNeededAndAvailableMemoryWithDigitsThatTellThemApart()
    {
        // A 0.26 GiB heap and a dense Hessian needing about 0.3 GiB: to one decimal both read "0.3".
        var dir = TestData.TempDirectory();
        var x = Path.Combine(dir, "x.npy");
        var rng = new Random(5);
        NpyFile.Write(x, new NumericArray(Enumerable.Range(0, 2_500).Select(_ => rng.NextDouble()).ToArray(), [1_250, 2]));
        var (code, error) = CliUnderHeapLimit("0x10A3D70A", "hessian", "--x", x, "--y", x, "--eps", "0.1", "--out", Path.Combine(dir, "h.npy"));
        Assert.Equal(2, code);
        var sizes = System.Text.RegularExpressions.Regex.Match(error, @"needs about ([0-9.]+) GiB but ([0-9.]+) GiB are available");
        Assert.True(sizes.Success, error);
        Assert.NotEqual(sizes.Groups[1].Value, sizes.Groups[2].Value);
    }

    /// <summary>The CLI under a GC heap limit: exit code and standard error.</summary>
    private static (int Code, string Error) CliUnderHeapLimit(string heapLimit, params string[] args) =>
        CliRun.Child(new Dictionary<string, string> { ["DOTNET_GCHeapHardLimit"] = heapLimit }, args);

    [Fact]
    public void ASolveLargerThanMemoryIsRefusedWithWhatItNeedsAndRunningOutSaysSo()
    {
        var dir = TestData.TempDirectory();
        var x = Path.Combine(dir, "x.npy");
        var y = Path.Combine(dir, "y.npy");
        NpyFile.Write(x, TestData.Cloud(6, 1_200_000, 2));
        NpyFile.Write(y, TestData.Cloud(7, 10, 2));
        string[] solve = ["solve", "--x", x, "--y", y, "--eps", "0.1", "--max-iter", "2", "--no-divergence"];
        // 256 MiB: the inputs load, and the solve's own copies and vectors (about 0.27 GiB) are refused before they are made.
        var (code, error) = CliUnderHeapLimit("0x10000000", solve);
        Assert.Equal(2, code);
        Assert.Matches(@"^otnative: error: The solve of 1200000 × 10 points \(d = 2\) needs about [0-9.]+ GiB but [0-9.]+ GiB are available", error);
        Assert.Single(error.Trim().Split('\n'));
        // 64 MiB and a 48 MB input: reading it (its values, then the matrix made of them) runs out; that is said in words,
        // with the limit, not as .NET's bare exception.
        var big = Path.Combine(dir, "big.npy");
        NpyFile.Write(big, TestData.Cloud(8, 3_000_000, 2));
        (code, error) = CliUnderHeapLimit("0x4000000", ["solve", "--x", big, "--y", y, "--eps", "0.1", "--max-iter", "2", "--no-divergence"]);
        Assert.Equal(2, code);
        Assert.StartsWith("otnative: error: ran out of memory: the process may use about 0.0625 GiB here.", error);
        Assert.Single(error.Trim().Split('\n'));
    }

    /// <summary>The peak resident memory of the CLI run with <paramref name="args"/>, polled while it runs (VmHWM only grows).</summary>
    private static long PeakResidentBytes(params string[] args)
    {
        using var process = System.Diagnostics.Process.Start(CliRun.ChildStart(null, args))!;
        var error = process.StandardError.ReadToEndAsync();
        var output = process.StandardOutput.ReadToEndAsync();
        long peak = 0;
        while (!process.WaitForExit(5))
        {
            try
            {
                process.Refresh();
                peak = Math.Max(peak, process.PeakWorkingSet64);
            }
            catch (InvalidOperationException) { }
        }
        Assert.True(process.ExitCode == 0, error.Result + output.Result);
        return peak;
    }

    [Fact]
    public void TheDenseHessiansMemoryEstimateCoversWhatItUsesLapackWorkspaceIncluded()
    {
        // n = m = 1 500, d = 3, the eigen path: the (n + m)² H-matrix's eigendecomposition is where LAPACK's workspace (its
        // column-major copy and dsyevd's 2N² doubles) lifted the peak 27 % above an estimate that left it out.
        var dir = TestData.TempDirectory();
        var x = Path.Combine(dir, "x.npy");
        NpyFile.Write(x, TestData.Cloud(9, 1_500, 3));
        var baseline = PeakResidentBytes("solve", "--x", x, "--y", x, "--eps", "0.5", "--no-divergence");
        var peak = PeakResidentBytes("hessian", "--x", x, "--y", x, "--eps", "0.5", "--out", Path.Combine(dir, "h.npy"));
        var estimate = EntropicOT.DenseHessianBytes(1_500, 1_500, 3);
        Assert.True(peak - baseline <= estimate,
            $"the Hessian's run peaked {(peak - baseline) / 1048576.0:F0} MiB above a plain solve's, over its estimate of {estimate / 1048576.0:F0} MiB");
    }

    [Fact]
    public void ADenseRequestThatCannotFitIsRefusedBeforeTheSolveWithTheAlternative()
    {
        var dir = TestData.TempDirectory();
        var x = Path.Combine(dir, "x.npy");
        var rng = new Random(4);
        NpyFile.Write(x, new NumericArray(Enumerable.Range(0, 120_000).Select(_ => rng.NextDouble()).ToArray(), [60_000, 2]));
        var started = System.Diagnostics.Stopwatch.StartNew();
        var (code, error) = Cli("hessian", "--x", x, "--y", x, "--eps", "0.1", "--out", Path.Combine(dir, "h.npy"));
        Assert.Equal(2, code);
        Assert.Contains("The dense Hessian (n = 60000, d = 2: 120000 × 120000) needs about", error);
        Assert.Contains("otnative hvp", error);
        Assert.Single(error.Trim().Split('\n'));
        Assert.False(File.Exists(Path.Combine(dir, "h.npy")));
        // Refused before the solve: a 60 000² solve would take minutes.
        Assert.True(started.Elapsed < TimeSpan.FromSeconds(30));
        Assert.Equal(2, Cli("spectrum", "--x", x, "--y", x, "--eps", "0.1").Code);
    }
}
