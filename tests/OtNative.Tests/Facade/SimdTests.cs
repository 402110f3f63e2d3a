using System.Diagnostics;
using OtNative.Cli;
using Xunit;

namespace OtNative.Tests;

/// <summary>The SIMD width through the public surfaces: the C# option, the environment variable, the benchmarks' option.</summary>
[Collection("cli")]
public class SimdTests
{
    [Fact]
    public void EveryVectorWidthGivesTheSameSolveToRoundingAndAnUnknownOneIsRefused()
    {
        var x = TestData.Cloud(3, 40, 3);
        var y = TestData.Cloud(4, 37, 3, 0.5);
        SinkhornOptions At(CpuVectorWidth w) => new() { Epsilon = 0.1, EpsilonRelative = true, Tolerance = 1e-10, VectorWidth = w };
        using var scalar = EntropicOT.Solve(x, y, At(CpuVectorWidth.Scalar));
        var reference = scalar.Gradient();
        foreach (var width in new[] { CpuVectorWidth.Auto, CpuVectorWidth.Bits128, CpuVectorWidth.Bits256, CpuVectorWidth.Bits512 })
        {
            using var r = EntropicOT.Solve(x, y, At(width));
            Assert.True(r.Converged, $"{width} did not converge");
            Assert.Equal(scalar.Value, r.Value, 1e-9);
            var g = r.Gradient();
            for (int i = 0; i < g.GetLength(0); i++)
                for (int q = 0; q < g.GetLength(1); q++)
                    Assert.Equal(reference[i, q], g[i, q], 1e-8);
        }
        var refused = Assert.Throws<ArgumentOutOfRangeException>(() => EntropicOT.Solve(x, y, At((CpuVectorWidth)1024)));
        Assert.Contains("Bits512", refused.Message);
    }

    [Fact]
    public void AnUnknownOtnativeSimdIsAUsageErrorNamingTheVariable()
    {
        var (code, stderr) = CliRun.Child(new Dictionary<string, string> { ["OTNATIVE_SIMD"] = "1024" }, "info");
        Assert.Equal(2, code);
        Assert.Contains("OTNATIVE_SIMD: '1024' is not a SIMD width", stderr);
    }

    [Theory]
    [InlineData("batch", "512,256")]
    [InlineData("batch", "1024")]
    [InlineData("sinkhorn", ",")]
    [InlineData("sinkhorn", "512,avx")]
    public void ABadSimdOptionIsAUsageError(string bench, string simd)
    {
        var json = Path.Combine(Path.GetTempPath(), $"otnative-simd-{Guid.NewGuid():N}.json");
        string[] args = bench == "batch"
            ? ["bench", "batch", "--simd", simd, "--problems", "2", "--json", json]
            : ["bench", "sinkhorn", "--simd", simd, "--sizes", "50", "--no-pot", "--no-torch", "--json", json];
        var (code, error) = CliRun.InProcess(args);
        Assert.Equal(2, code);
        Assert.Contains("--simd", error);
    }
}
