using System.Text.Json;
using Xunit;

namespace OtNative.Tests;

/// <summary><c>otnative solve --tau-a --tau-b</c>: unbalanced transport on the command line.</summary>
[Collection("cli")]
public class CliUnbalancedTests
{
    [Fact]
    public void SolveWithTausWritesTheirFieldsAndTheLibrarysNumbers()
    {
        var dir = TestData.TempDirectory();
        var x = TestData.Cloud(1, 14, 2);
        var y = TestData.Cloud(2, 11, 2, 0.6);
        NpyFile.Write(Path.Combine(dir, "x.npy"), x);
        NpyFile.Write(Path.Combine(dir, "y.npy"), y);
        string P(string f) => Path.Combine(dir, f);
        var (code, error) = CliRun.InProcess("solve", "--x", P("x.npy"), "--y", P("y.npy"), "--eps", "0.2", "--tau-a", "0.5", "--tau-b", "0.5",
            "--tol", "1e-11", "--json", P("u.json"));
        Assert.True(code == 0, error);
        using var reference = EntropicOT.Solve(x, y, new SinkhornOptions
        {
            Epsilon = 0.2, EpsilonRelative = false, TauA = 0.5, TauB = 0.5, Tolerance = 1e-11, Solver = SinkhornSolver.Sinkhorn,
        });
        using (var doc = JsonDocument.Parse(File.ReadAllText(P("u.json"))))
        {
            var root = doc.RootElement;
            Assert.Equal(0.5, root.GetProperty("tauA").GetDouble());
            Assert.Equal(0.5, root.GetProperty("tauB").GetDouble());
            Assert.Equal(reference.Value, root.GetProperty("value").GetDouble(), 12);
            Assert.Equal(reference.TransportedMass, root.GetProperty("mass").GetDouble(), 12);
            Assert.True(root.GetProperty("mass").GetDouble() < 0.99);
            Assert.Equal(JsonValueKind.Number, root.GetProperty("divergence").ValueKind);
        }
        // One side relaxed: no divergence (it needs one τ), balanced fields null.
        (code, error) = CliRun.InProcess("solve", "--x", P("x.npy"), "--y", P("y.npy"), "--eps", "0.2", "--tau-a", "0.5", "--json", P("a.json"));
        Assert.True(code == 0, error);
        using (var doc = JsonDocument.Parse(File.ReadAllText(P("a.json"))))
        {
            Assert.Equal(JsonValueKind.Null, doc.RootElement.GetProperty("tauB").ValueKind);
            Assert.Equal(JsonValueKind.Null, doc.RootElement.GetProperty("divergence").ValueKind);
        }
        // A balanced solve says so.
        (code, error) = CliRun.InProcess("solve", "--x", P("x.npy"), "--y", P("y.npy"), "--eps", "0.2", "--json", P("b.json"));
        Assert.True(code == 0, error);
        using (var doc = JsonDocument.Parse(File.ReadAllText(P("b.json"))))
        {
            Assert.Equal(JsonValueKind.Null, doc.RootElement.GetProperty("tauA").ValueKind);
            Assert.Equal(1.0, doc.RootElement.GetProperty("mass").GetDouble(), 9);
        }
        Assert.Equal(2, CliRun.InProcess("solve", "--x", P("x.npy"), "--y", P("y.npy"), "--eps", "0.2", "--tau-a", "0").Code);
        Assert.Equal(2, CliRun.InProcess("solve", "--x", P("x.npy"), "--y", P("y.npy"), "--eps", "0.2", "--tau-b", "1", "--solver", "lbfgs").Code);
    }
}
