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
        // ∞ as one writes it is a balanced side; a word that is no number is a usage error naming it.
        foreach (var infinity in new[] { "inf", "∞", "Infinity" })
        {
            (code, error) = CliRun.InProcess("solve", "--x", P("x.npy"), "--y", P("y.npy"), "--eps", "0.2", "--tau-a", infinity, "--no-divergence", "--json", P("i.json"));
            Assert.True(code == 0, error);
            using var doc = JsonDocument.Parse(File.ReadAllText(P("i.json")));
            Assert.Equal(JsonValueKind.Null, doc.RootElement.GetProperty("tauA").ValueKind);
        }
        var word = CliRun.InProcess("solve", "--x", P("x.npy"), "--y", P("y.npy"), "--eps", "0.2", "--tau-a", "lots");
        Assert.Equal(2, word.Code);
        Assert.Contains("'lots'", word.Error);
        Assert.Equal(2, CliRun.InProcess("solve", "--x", P("x.npy"), "--y", P("y.npy"), "--eps", "0.2", "--tau-b", "1", "--solver", "lbfgs").Code);
    }

    [Fact]
    public void AnInfiniteTauIsABalancedSideNullInTheJson()
    {
        var dir = TestData.TempDirectory();
        NpyFile.Write(Path.Combine(dir, "x.npy"), TestData.Cloud(1, 9, 2));
        NpyFile.Write(Path.Combine(dir, "y.npy"), TestData.Cloud(2, 8, 2, 0.3));
        string P(string f) => Path.Combine(dir, f);
        // "Infinity" (and 1e400, which parses to it) was written as the JSON string "Infinity" where a balanced side is null.
        var (code, error) = CliRun.InProcess("solve", "--x", P("x.npy"), "--y", P("y.npy"), "--eps", "0.2", "--tau-a", "Infinity",
            "--tau-b", "1e400", "--json", P("u.json"));
        Assert.True(code == 0, error);
        using (var doc = JsonDocument.Parse(File.ReadAllText(P("u.json"))))
        {
            Assert.Equal(JsonValueKind.Null, doc.RootElement.GetProperty("tauA").ValueKind);
            Assert.Equal(JsonValueKind.Null, doc.RootElement.GetProperty("tauB").ValueKind);
            Assert.Equal(JsonValueKind.Number, doc.RootElement.GetProperty("divergence").ValueKind);
        }
        // Balanced on both sides given explicitly: L-BFGS is not refused (it was: "--solver lbfgs solves the balanced semi-dual").
        (code, error) = CliRun.InProcess("solve", "--x", P("x.npy"), "--y", P("y.npy"), "--eps", "0.2", "--tau-a", "Infinity",
            "--tau-b", "Infinity", "--solver", "lbfgs", "--no-divergence");
        Assert.True(code == 0, error);
        (code, error) = CliRun.InProcess("solve", "--x", P("x.npy"), "--y", P("y.npy"), "--eps", "0.2", "--tau-a", "1", "--solver", "lbfgs");
        Assert.Equal(2, code);
        Assert.Contains("--solver lbfgs", error);
    }

    [Fact]
    public void AnOptionWithoutItsValueIsAUsageErrorNamingIt()
    {
        var dir = TestData.TempDirectory();
        NpyFile.Write(Path.Combine(dir, "x.npy"), TestData.Cloud(1, 9, 2));
        NpyFile.Write(Path.Combine(dir, "y.npy"), TestData.Cloud(2, 8, 2, 0.3));
        string P(string f) => Path.Combine(dir, f);
        // Spectre.Console.Cli gave such an option the value '__default_command': `grad … --out` wrote the gradient to a
        // file of that name in the working directory, and `--eps` said "'__default_command' is not a number".
        var cases = new[]
        {
            (new[] { "grad", "--x", P("x.npy"), "--y", P("y.npy"), "--eps", "0.2", "--out" }, "--out"),
            (new[] { "solve", "--x", P("x.npy"), "--y", P("y.npy"), "--eps", "--tau-a", "1" }, "--eps"),
            (new[] { "solve", "--x", P("x.npy"), "--y", P("y.npy"), "--eps", "0.2", "--tau-a" }, "--tau-a"),
            (new[] { "solve", "--x", "--y", P("y.npy"), "--eps", "0.2" }, "--x"),
        };
        foreach (var (args, option) in cases)
        {
            var (code, error) = CliRun.InProcess(args);
            Assert.Equal(2, code);
            Assert.Equal($"otnative: error: {option} needs a value.", error.Trim());
        }
        Assert.False(File.Exists("__default_command"));
        // A negative number is a value, not an option: it reaches the option's own check.
        var (c, e) = CliRun.InProcess("solve", "--x", P("x.npy"), "--y", P("y.npy"), "--eps", "0.2", "--tau-a", "-1");
        Assert.Equal(2, c);
        Assert.Contains("--tau-a must be positive", e);
    }
}
