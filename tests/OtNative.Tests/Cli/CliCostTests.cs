using System.Text.Json;
using Xunit;

namespace OtNative.Tests;

/// <summary><c>--cost</c>: the ground cost on the command line.</summary>
[Collection("cli")]
public class CliCostTests
{
    [Fact]
    public void AMahalanobisCostFromAFileGivesTheLibrarysSolveAndGradient()
    {
        var x = TestData.Cloud(1, 10, 2);
        var y = TestData.Cloud(2, 8, 2, 0.5);
        var metric = new double[,] { { 3.0, 0.5 }, { 0.5, 0.7 } };
        var P = TestData.NpyInputs(("x", x), ("y", y), ("m", metric));
        var (code, error) = CliRun.InProcess("solve", "--x", P("x.npy"), "--y", P("y.npy"), "--eps", "0.2", "--tol", "1e-11",
            "--cost", "mahalanobis:" + P("m.npy"), "--json", P("s.json"));
        Assert.True(code == 0, error);
        (code, error) = CliRun.InProcess("grad", "--x", P("x.npy"), "--y", P("y.npy"), "--eps", "0.2", "--tol", "1e-11",
            "--cost", "mahalanobis:" + P("m.npy"), "--out", P("g.npy"));
        Assert.True(code == 0, error);
        using var reference = EntropicOT.Solve(x, y, new SinkhornOptions
        {
            Epsilon = 0.2, EpsilonRelative = false, Tolerance = 1e-11, Solver = SinkhornSolver.Sinkhorn, Cost = GroundCost.Mahalanobis(metric),
        });
        using (var doc = JsonDocument.Parse(File.ReadAllText(P("s.json"))))
        {
            Assert.Equal("mahalanobis", doc.RootElement.GetProperty("cost").GetString());
            Assert.Equal(reference.Value, doc.RootElement.GetProperty("value").GetDouble(), 12);
        }
        Assert.True(TestData.MaxRelativeError(NpyFile.Read(P("g.npy")).ToMatrix(), reference.Gradient()) < 1e-12);
        // Bad costs are usage errors: an unknown name, a metric that is not one, a missing file.
        NpyFile.Write(P("bad.npy"), new double[,] { { 1, 2 }, { 0, 1 } });
        Assert.Equal(2, CliRun.InProcess("solve", "--x", P("x.npy"), "--y", P("y.npy"), "--eps", "0.2", "--cost", "cosine").Code);
        var bad = CliRun.InProcess("solve", "--x", P("x.npy"), "--y", P("y.npy"), "--eps", "0.2", "--cost", "mahalanobis:" + P("bad.npy"));
        Assert.Equal(2, bad.Code);
        Assert.Contains("not symmetric", bad.Error);
        Assert.Equal(2, CliRun.InProcess("solve", "--x", P("x.npy"), "--y", P("y.npy"), "--eps", "0.2", "--cost", "mahalanobis:" + P("none.npy")).Code);
    }

    [Theory]
    [InlineData("euclidean", 1.0)]
    [InlineData("pnorm:1.5", 1.5)]
    [InlineData("pnorm:3", 3.0)]
    public void DistancePowersGiveTheLibrarysSolveGradientAndHvp(string spec, double p)
    {
        var x = TestData.Cloud(3, 9, 2);
        var y = TestData.Cloud(4, 7, 2, 0.5);
        var direction = TestData.Cloud(5, 9, 2);
        var P = TestData.NpyInputs(("x", x), ("y", y), ("v", direction));
        string[] common = ["--x", P("x.npy"), "--y", P("y.npy"), "--eps", "0.2", "--tol", "1e-11", "--cost", spec];
        var (code, error) = CliRun.InProcess(["solve", .. common, "--json", P("s.json")]);
        Assert.True(code == 0, error);
        (code, error) = CliRun.InProcess(["grad", .. common, "--out", P("g.npy")]);
        Assert.True(code == 0, error);
        (code, error) = CliRun.InProcess(["hvp", .. common, "--direction", P("v.npy"), "--out", P("h.npy")]);
        Assert.True(code == 0, error);
        using var reference = EntropicOT.Solve(x, y, new SinkhornOptions
        {
            Epsilon = 0.2, EpsilonRelative = false, Tolerance = 1e-11, Solver = SinkhornSolver.Sinkhorn, Cost = GroundCost.PNorm(p),
        });
        using (var doc = JsonDocument.Parse(File.ReadAllText(P("s.json"))))
        {
            Assert.Equal(spec, doc.RootElement.GetProperty("cost").GetString());
            Assert.Equal(reference.Value, doc.RootElement.GetProperty("value").GetDouble(), 12);
        }
        Assert.True(TestData.MaxRelativeError(NpyFile.Read(P("g.npy")).ToMatrix(), reference.Gradient()) < 1e-12);
        Assert.True(TestData.MaxRelativeError(NpyFile.Read(P("h.npy")).ToMatrix(), reference.HessianVectorProduct(direction)) < 1e-8);
    }

    [Theory]
    [InlineData("pnorm:0.5")]
    [InlineData("pnorm:")]
    [InlineData("pnorm:two")]
    [InlineData("pnorm:inf")]
    [InlineData("Euclidean")]
    public void BadDistancePowersAreUsageErrors(string spec)
    {
        var P = TestData.NpyInputs(("x", TestData.Cloud(1, 4, 2)));
        var (code, error) = CliRun.InProcess("solve", "--x", P("x.npy"), "--y", P("x.npy"), "--eps", "0.2", "--cost", spec);
        Assert.Equal(2, code);
        Assert.Contains("--cost", error);
    }
}
