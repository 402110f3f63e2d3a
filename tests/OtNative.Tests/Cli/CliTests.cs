using System.Globalization;
using System.Text.Json;
using OtNative.Cli;
using Xunit;

namespace OtNative.Tests;

/// <summary>The otnative command run in-process; one at a time because it owns the console.</summary>
[CollectionDefinition("cli", DisableParallelization = true)]
public class CliCollection;

[Collection("cli")]
public class CliTests
{
    private static (int Code, string Error) Run(params string[] args) => CliRun.InProcess(args);

    private static string Inv(double v) => v.ToString("R", CultureInfo.InvariantCulture);

    [Fact]
    public void SolveWritesTheContractJsonFields()
    {
        var dir = TestData.TempDirectory();
        var x = TestData.Cloud(1, 12, 2);
        var y = TestData.Cloud(2, 9, 2, 0.3);
        NpyFile.Write(Path.Combine(dir, "x.npy"), x);
        NpyFile.Write(Path.Combine(dir, "y.npy"), y);
        NpyFile.Write(Path.Combine(dir, "b.npy"), Enumerable.Repeat(1.0 / 9, 9).ToArray());
        var json = Path.Combine(dir, "out.json");
        var (code, error) = Run("solve", "--x", Path.Combine(dir, "x.npy"), "--y", Path.Combine(dir, "y.npy"), "--b", Path.Combine(dir, "b.npy"),
            "--eps", "0.1", "--eps-relative", "--tol", "1e-10", "--json", json);
        Assert.True(code == 0, error);
        using var doc = JsonDocument.Parse(File.ReadAllText(json));
        var root = doc.RootElement;
        foreach (var field in new[] { "value", "sharp", "divergence", "iterations", "marginalError", "converged", "epsilon", "seconds" })
            Assert.True(root.TryGetProperty(field, out _), $"missing {field}");
        using var reference = EntropicOT.Solve(x, y, new SinkhornOptions { Solver = SinkhornSolver.Sinkhorn, Epsilon = 0.1, EpsilonRelative = true, Tolerance = 1e-10 });
        Assert.Equal(reference.Value, root.GetProperty("value").GetDouble(), 12);
        Assert.Equal(reference.SharpValue, root.GetProperty("sharp").GetDouble(), 12);
        Assert.Equal(reference.Epsilon, root.GetProperty("epsilon").GetDouble(), 14);
        Assert.True(root.GetProperty("converged").GetBoolean());
    }

    [Fact]
    public void GradAgreesWithFiniteDifferencesOfSolve()
    {
        var dir = TestData.TempDirectory();
        var x = TestData.Cloud(3, 4, 2);
        var y = TestData.Cloud(4, 5, 2, 0.4);
        string xPath = Path.Combine(dir, "x.npy"), yPath = Path.Combine(dir, "y.npy"), gPath = Path.Combine(dir, "g.npy");
        NpyFile.Write(xPath, x);
        NpyFile.Write(yPath, y);
        var common = new[] { "--y", yPath, "--eps", "0.25", "--tol", "1e-13", "--max-iter", "200000" };
        var (code, error) = Run(["grad", "--x", xPath, "--out", gPath, .. common]);
        Assert.True(code == 0, error);
        var g = NpyFile.Read(gPath).ToMatrix();
        Assert.Equal(new[] { 4, 2 }, new[] { g.GetLength(0), g.GetLength(1) });
        var fd = TestData.CentralDifferences(x, 1e-5, (moved, at) =>
        {
            var path = Path.Combine(dir, $"x_{at.Row}_{at.Column}_{Inv(at.Delta)}.npy");
            NpyFile.Write(path, moved);
            var json = path + ".json";
            Assert.Equal(0, Run(["solve", "--x", path, "--json", json, .. common]).Code);
            using var doc = JsonDocument.Parse(File.ReadAllText(json));
            return doc.RootElement.GetProperty("value").GetDouble();
        });
        Assert.True(TestData.MaxRelativeError(g, fd) < 1e-6, $"error {TestData.MaxRelativeError(g, fd)}");
    }

    /// <summary>Solves x, y on the command line with <c>--init</c>: the JSON names the initialiser and has the plain solve's value.</summary>
    private static void AssertInitialiserGivesThePlainValue(string init, double[,] x, double[,] y, double eps)
    {
        var dir = TestData.TempDirectory();
        string Write(string name, double[,] points) { var path = Path.Combine(dir, name); NpyFile.Write(path, points); return path; }
        var json = Path.Combine(dir, "solve.json");
        var (code, error) = Run("solve", "--x", Write("x.npy", x), "--y", Write("y.npy", y), "--eps", Inv(eps), "--eps-relative",
            "--tol", "1e-10", "--init", init, "--no-divergence", "--json", json);
        Assert.True(code == 0, error);
        using var doc = JsonDocument.Parse(File.ReadAllText(json));
        Assert.Equal(init, doc.RootElement.GetProperty("initializer").GetString());
        using var reference = EntropicOT.Solve(x, y, new SinkhornOptions { Solver = SinkhornSolver.Sinkhorn, Epsilon = eps, EpsilonRelative = true, Tolerance = 1e-10 });
        Assert.Equal(reference.Value, doc.RootElement.GetProperty("value").GetDouble(), 9);
    }

    [Fact]
    public void TheAutoSolverSaysItStartedFromTheAutomaticInitialiser()
    {
        var dir = TestData.TempDirectory();
        var x = Path.Combine(dir, "x.npy");
        var y = Path.Combine(dir, "y.npy");
        NpyFile.Write(x, TestData.Cloud(31, 20, 2));
        NpyFile.Write(y, TestData.Cloud(32, 15, 2, 0.4));
        string InitializerOf(params string[] more)
        {
            var json = Path.Combine(dir, "s.json");
            var (code, error) = Run(["solve", "--x", x, "--y", y, "--eps", "0.1", "--no-divergence", "--json", json, .. more]);
            Assert.True(code == 0, error);
            using var doc = JsonDocument.Parse(File.ReadAllText(json));
            return doc.RootElement.GetProperty("initializer").GetString()!;
        }
        Assert.Equal("auto", InitializerOf("--solver", "auto"));
        Assert.Equal("gaussian", InitializerOf("--solver", "auto", "--init", "gaussian"));
        Assert.Equal("none", InitializerOf("--solver", "lbfgs"));
        Assert.Equal("none", InitializerOf());
    }

    [Fact]
    public void MixedPrecisionIsNamedInTheJsonWithItsFloat32IterationsAndAnUnknownOneIsAUsageError()
    {
        var dir = TestData.TempDirectory();
        string Write(string name, double[,] points) { var path = Path.Combine(dir, name); NpyFile.Write(path, points); return path; }
        var x = Write("x.npy", TestData.Cloud(7, 300, 2));
        var y = Write("y.npy", TestData.Cloud(8, 280, 2, 0.5));
        double ValueOf(string precision, out int mixedIterations, out string used)
        {
            var json = Path.Combine(dir, precision + ".json");
            var (code, error) = Run("solve", "--x", x, "--y", y, "--eps", "0.05", "--eps-relative", "--tol", "1e-7", "--precision", precision,
                "--no-divergence", "--json", json);
            Assert.True(code == 0, error);
            using var doc = JsonDocument.Parse(File.ReadAllText(json));
            Assert.True(doc.RootElement.GetProperty("converged").GetBoolean());
            mixedIterations = doc.RootElement.GetProperty("mixedIterations").GetInt32();
            used = doc.RootElement.GetProperty("precision").GetString()!;
            return doc.RootElement.GetProperty("value").GetDouble();
        }
        var plain = ValueOf("double", out var noneMixed, out var double64);
        var mixed = ValueOf("mixed", out var mixedIterations, out var usedMixed);
        Assert.Equal((0, "double"), (noneMixed, double64));
        Assert.True(mixedIterations > 0 && usedMixed == "mixed", $"{mixedIterations} float32 iterations, precision {usedMixed}");
        // Within what the tolerance allows both plans (docs/math.md §1), the potentials being of order one here.
        Assert.Equal(plain, mixed, 1e-6);
        var (bad, message) = Run("solve", "--x", x, "--y", y, "--eps", "0.05", "--precision", "half", "--no-divergence");
        Assert.Equal(2, bad);
        Assert.Contains("--precision", message);
    }

    [Theory]
    [InlineData("lbfgs")]
    [InlineData("auto")]
    public void AnnealingWithASolverThatHasNoSinkhornUpdatesIsAUsageError(string solver)
    {
        var dir = TestData.TempDirectory();
        NpyFile.Write(Path.Combine(dir, "x.npy"), TestData.Cloud(1, 5, 2));
        var (code, error) = Run("solve", "--x", Path.Combine(dir, "x.npy"), "--y", Path.Combine(dir, "x.npy"), "--eps", "0.1",
            "--solver", solver, "--anneal", "--no-divergence");
        Assert.Equal(2, code);
        Assert.Contains("--anneal", error);
        Assert.Single(error.Trim().Split('\n'));
    }

    [Fact]
    public void SortingInitialiserSolvesOneDimensionalCloudsAndRefusesOthersInOneLine()
    {
        AssertInitialiserGivesThePlainValue("sorting", TestData.Cloud(3, 30, 1), TestData.Cloud(4, 20, 1, 0.5), 0.05);
        var dir = TestData.TempDirectory();
        NpyFile.Write(Path.Combine(dir, "x2.npy"), TestData.Cloud(5, 10, 2));
        NpyFile.Write(Path.Combine(dir, "y2.npy"), TestData.Cloud(6, 8, 2));
        var (code, error) = Run("solve", "--x", Path.Combine(dir, "x2.npy"), "--y", Path.Combine(dir, "y2.npy"),
            "--eps", "0.05", "--eps-relative", "--init", "sorting");
        Assert.Equal(2, code);
        Assert.Contains("one-dimensional", error);
        Assert.Single(error.Trim().Split('\n'));
    }

    [Fact]
    public void GmmInitialiserSolvesToThePlainAnswerAndAnUnknownNameListsIt()
    {
        var x = TestData.Cloud(7, 60, 2);
        var y = TestData.Cloud(8, 50, 2, 0.5);
        AssertInitialiserGivesThePlainValue("gmm", x, y, 0.1);
        var options = new SinkhornOptions { Solver = SinkhornSolver.Sinkhorn, Epsilon = 0.1, EpsilonRelative = true, Tolerance = 1e-10 };
        using var reference = EntropicOT.Solve(x, y, options);
        using var facade = EntropicOT.Solve(x, y, options with { Initializer = SinkhornInitializer.Gmm });
        Assert.Equal(reference.Value, facade.Value, 9);
        var dir = TestData.TempDirectory();
        NpyFile.Write(Path.Combine(dir, "x.npy"), x);
        NpyFile.Write(Path.Combine(dir, "y.npy"), y);
        var (code, error) = Run("solve", "--x", Path.Combine(dir, "x.npy"), "--y", Path.Combine(dir, "y.npy"), "--eps", "0.1", "--init", "mixture");
        Assert.Equal(2, code);
        Assert.Contains("gmm", error);
    }

    [Fact]
    public void BatchChecksItsGradientFolderFirstAndAGradientThatCannotBeWrittenIsThatProblemsErrorInTheJson()
    {
        var dir = TestData.TempDirectory();
        var pairs = Path.Combine(dir, "pairs");
        Directory.CreateDirectory(pairs);
        for (int k = 0; k < 3; k++)
        {
            NpyFile.Write(Path.Combine(pairs, $"p{k}.x.npy"), TestData.Cloud(50 + k, 10, 2));
            NpyFile.Write(Path.Combine(pairs, $"p{k}.y.npy"), TestData.Cloud(60 + k, 8, 2, 0.4));
        }
        var json = Path.Combine(dir, "batch.json");
        // A file where the gradient folder should be: refused before any solve, no JSON written.
        var aFile = Path.Combine(dir, "not-a-folder");
        File.WriteAllText(aFile, "");
        var (code, error) = Run("batch", "--pairs", pairs, "--eps", "0.1", "--json", json, "--gradients", aFile);
        Assert.Equal(2, code);
        Assert.Contains("--gradients", error);
        Assert.False(File.Exists(json));
        // A directory in the way of one gradient: that problem's error, the others' gradients and the JSON written.
        var gradients = Path.Combine(dir, "gradients");
        Directory.CreateDirectory(Path.Combine(gradients, "p1.grad.npy"));
        (code, error) = Run("batch", "--pairs", pairs, "--eps", "0.1", "--json", json, "--gradients", gradients);
        Assert.Equal(1, code);
        Assert.Contains("1 of 3 problems failed", error);
        using var doc = JsonDocument.Parse(File.ReadAllText(json));
        var results = doc.RootElement.GetProperty("results").EnumerateArray().ToList();
        Assert.Contains("could not be written", results[1].GetProperty("error").GetString());
        Assert.True(results[1].GetProperty("value").GetDouble() > 0);
        Assert.True(File.Exists(Path.Combine(gradients, "p0.grad.npy")) && File.Exists(Path.Combine(gradients, "p2.grad.npy")));
    }

    [Fact]
    public void BatchSolvesAFolderOrAListOfPairsAndReportsAnUnreadablePairWithoutStoppingTheOthers()
    {
        var dir = TestData.TempDirectory();
        var clouds = Enumerable.Range(0, 3).Select(k => (X: TestData.Cloud(20 + k, 15 + 5 * k, 2), Y: TestData.Cloud(30 + k, 12 + 4 * k, 2, 0.4))).ToArray();
        for (int k = 0; k < clouds.Length; k++)
        {
            NpyFile.Write(Path.Combine(dir, $"p{k}.x.npy"), clouds[k].X);
            NpyFile.Write(Path.Combine(dir, $"p{k}.y.npy"), clouds[k].Y);
        }
        var broken = TestData.Cloud(40, 5, 2);
        broken[2, 1] = double.PositiveInfinity;
        NpyFile.Write(Path.Combine(dir, "q.x.npy"), broken);
        NpyFile.Write(Path.Combine(dir, "q.y.npy"), TestData.Cloud(41, 5, 2));
        var json = Path.Combine(dir, "batch.json");
        var gradients = Path.Combine(dir, "gradients");
        var (code, error) = Run("batch", "--pairs", dir, "--eps", "0.1", "--eps-relative", "--tol", "1e-10", "--json", json, "--gradients", gradients);
        Assert.Equal(1, code);
        // One line: how many failed and where their errors are.
        Assert.Equal($"otnative: error: 1 of 4 problems failed; each one's error is in {json}.", error.Trim());
        using (var doc = JsonDocument.Parse(File.ReadAllText(json)))
        {
            var results = doc.RootElement.GetProperty("results").EnumerateArray().ToList();
            Assert.Equal(4, doc.RootElement.GetProperty("problems").GetInt32());
            Assert.Equal(1, doc.RootElement.GetProperty("failed").GetInt32());
            Assert.Equal(["p0", "p1", "p2", "q"], results.Select(r => r.GetProperty("name").GetString()));
            Assert.Contains("non-finite", results[3].GetProperty("error").GetString());
            for (int k = 0; k < clouds.Length; k++)
            {
                using var reference = EntropicOT.Solve(clouds[k].X, clouds[k].Y, new SinkhornOptions { Solver = SinkhornSolver.Sinkhorn, Epsilon = 0.1, EpsilonRelative = true, Tolerance = 1e-10 });
                Assert.Equal(reference.Value, results[k].GetProperty("value").GetDouble(), 12);
                Assert.True(TestData.MaxRelativeError(NpyFile.Read(Path.Combine(gradients, $"p{k}.grad.npy")).ToMatrix(), reference.Gradient()) < 1e-12);
            }
        }
        // The same pairs as a list file, paths relative to it, with a comment; the broken pair left out.
        File.WriteAllLines(Path.Combine(dir, "list.txt"), ["# x y", "p2.x.npy p2.y.npy", "p0.x.npy  p0.y.npy"]);
        (code, error) = Run("batch", "--pairs", Path.Combine(dir, "list.txt"), "--eps", "0.1", "--eps-relative", "--tol", "1e-10", "--json", json);
        Assert.True(code == 0, error);
        using (var doc = JsonDocument.Parse(File.ReadAllText(json)))
            Assert.Equal(["p2", "p0"], doc.RootElement.GetProperty("results").EnumerateArray().Select(r => r.GetProperty("name").GetString()));
        File.WriteAllLines(Path.Combine(dir, "bad-list.txt"), ["p2.x.npy"]);
        (code, error) = Run("batch", "--pairs", Path.Combine(dir, "bad-list.txt"), "--eps", "0.1", "--json", json);
        Assert.Equal(2, code);
        Assert.Contains("line 1", error);
    }

    [Fact]
    public void BadInputGivesExitCodeTwoAndOneLine()
    {
        var dir = TestData.TempDirectory();
        var x = TestData.Cloud(1, 3, 2);
        x[1, 0] = double.NaN;
        NpyFile.Write(Path.Combine(dir, "x.npy"), x);
        NpyFile.Write(Path.Combine(dir, "y.npy"), TestData.Cloud(2, 3, 2));
        var (code, error) = Run("solve", "--x", Path.Combine(dir, "x.npy"), "--y", Path.Combine(dir, "y.npy"), "--eps", "0.1");
        Assert.Equal(2, code);
        Assert.Single(error.Trim().Split('\n'));
        Assert.Contains("non-finite", error);

        (code, error) = Run("solve", "--x", Path.Combine(dir, "nope.npy"), "--y", Path.Combine(dir, "y.npy"), "--eps", "0.1");
        Assert.Equal(2, code);
        Assert.Contains("nope.npy", error);
        Assert.DoesNotContain(" at ", error);

        (code, error) = Run("solve", "--x", Path.Combine(dir, "y.npy"), "--y", Path.Combine(dir, "y.npy"), "--eps", "-1");
        Assert.Equal(2, code);
        Assert.Contains("Epsilon", error);
    }

    [Fact]
    public void ContractSpellingsAreAccepted()
    {
        Assert.Equal(new[] { "-x", "a.npy", "-y=b.npy", "--eps", "--max-iter" }, Program.NormaliseArguments(["--x", "a.npy", "--y=b.npy", "--eps", "--max-iter"]));
    }

    [Fact]
    public void CsvInputsWork()
    {
        var dir = TestData.TempDirectory();
        File.WriteAllText(Path.Combine(dir, "x.csv"), "0,0\n1,0\n0,1\n");
        File.WriteAllText(Path.Combine(dir, "y.csv"), "x,y\n0.5,0.5\n2,2\n");
        var json = Path.Combine(dir, "s.json");
        var (code, error) = Run("solve", "--x", Path.Combine(dir, "x.csv"), "--y", Path.Combine(dir, "y.csv"), "--eps", "0.5", "--json", json);
        Assert.True(code == 0, error);
        using var doc = JsonDocument.Parse(File.ReadAllText(json));
        Assert.Equal(3, doc.RootElement.GetProperty("n").GetInt32());
        Assert.Equal(2, doc.RootElement.GetProperty("m").GetInt32());
    }

    [Theory]
    [InlineData("--tolerance", "1e-9", "Unknown option 'tolerance'. Did you mean --tol?")]
    [InlineData("--max-iters", "10", "Did you mean --max-iter?")]
    [InlineData("stray", null, "stray")]
    public void AMistypedOptionOrAStrayArgumentIsAUsageErrorNamingIt(string typed, string? value, string expected)
    {
        var dir = TestData.TempDirectory();
        var x = Path.Combine(dir, "x.csv");
        File.WriteAllText(x, "1,2\n3,4\n5,6\n");
        string[] args = ["solve", "--x", x, "--y", x, "--eps", "0.1", typed, .. value is null ? Array.Empty<string>() : [value]];
        var (code, error) = Run(args);
        Assert.Equal(2, code);
        Assert.Contains(expected, error);
        Assert.Single(error.Trim().Split('\n'));
    }

    [Fact]
    public void SinkhornLbfgsFinishesAStalledSolveAndSaysWhenItSwitched()
    {
        // A near-permutation plan (n = 8, m = 2, d = 1, ε = 0.02 × mean cost): plain Sinkhorn is still at a marginal
        // error of 1e-5 after 50 000 iterations.
        var sample = new OtNative.Testing.ProblemSample(1635933297, 8, 2, 1, 1.0, true);
        var dir = TestData.TempDirectory();
        NpyFile.Write(Path.Combine(dir, "x.npy"), sample.X);
        NpyFile.Write(Path.Combine(dir, "y.npy"), sample.Y);
        var json = Path.Combine(dir, "s.json");
        string[] common = ["solve", "--x", Path.Combine(dir, "x.npy"), "--y", Path.Combine(dir, "y.npy"), "--eps", "0.02", "--eps-relative",
            "--tol", "1e-11", "--max-iter", "50000", "--no-divergence", "--json", json];
        var (code, error) = Run([.. common, "--solver", "sinkhorn-lbfgs"]);
        Assert.True(code == 0, error);
        double switchedValue;
        using (var doc = JsonDocument.Parse(File.ReadAllText(json)))
        {
            var root = doc.RootElement;
            Assert.True(root.GetProperty("converged").GetBoolean());
            Assert.Equal("sinkhorn-lbfgs", root.GetProperty("solver").GetString());
            var at = root.GetProperty("switchedToLbfgsAt").GetInt32();
            Assert.InRange(at, 1, root.GetProperty("iterations").GetInt32() - 1);
            switchedValue = root.GetProperty("value").GetDouble();
        }
        using var lbfgs = EntropicOT.Solve(sample.X, sample.Y, new SinkhornOptions
            { Epsilon = 0.02, EpsilonRelative = true, Tolerance = 1e-11, Solver = SinkhornSolver.Lbfgs });
        Assert.True(lbfgs.Converged);
        Assert.Null(lbfgs.SwitchedToLbfgsAt);
        Assert.Equal(lbfgs.Value, switchedValue, 10);
        Assert.Equal(0, Run([.. common, "--solver", "sinkhorn"]).Code);
        using (var doc = JsonDocument.Parse(File.ReadAllText(json)))
        {
            Assert.False(doc.RootElement.GetProperty("converged").GetBoolean());
            Assert.Equal(JsonValueKind.Null, doc.RootElement.GetProperty("switchedToLbfgsAt").ValueKind);
        }
    }

    [Fact]
    public void SolveReportsWhetherTheDivergencesSolvesConvergedAndCanSkipThem()
    {
        var dir = TestData.TempDirectory();
        NpyFile.Write(Path.Combine(dir, "x.npy"), TestData.Cloud(21, 30, 2));
        NpyFile.Write(Path.Combine(dir, "y.npy"), TestData.Cloud(22, 25, 2, 0.5));
        string[] common = ["solve", "--x", Path.Combine(dir, "x.npy"), "--y", Path.Combine(dir, "y.npy"), "--eps", "0.01", "--eps-relative"];
        var json = Path.Combine(dir, "s.json");
        Assert.Equal(0, Run([.. common, "--max-iter", "3", "--json", json]).Code);
        using (var doc = JsonDocument.Parse(File.ReadAllText(json)))
        {
            Assert.False(doc.RootElement.GetProperty("converged").GetBoolean());
            Assert.False(doc.RootElement.GetProperty("divergenceConverged").GetBoolean());
        }
        Assert.Equal(0, Run([.. common, "--no-divergence", "--json", json]).Code);
        using (var doc = JsonDocument.Parse(File.ReadAllText(json)))
        {
            Assert.Equal(JsonValueKind.Null, doc.RootElement.GetProperty("divergence").ValueKind);
            Assert.True(doc.RootElement.GetProperty("converged").GetBoolean());
        }
    }

    [Theory]
    [InlineData("--eps", "abc", "--eps: 'abc' is not a number.")]
    [InlineData("--max-iter", "1.5", "--max-iter: '1.5' is not a whole number.")]
    public void AValueThatDoesNotConvertIsAUsageErrorNamingItsOption(string option, string value, string expected)
    {
        var dir = TestData.TempDirectory();
        var x = Path.Combine(dir, "x.csv");
        File.WriteAllText(x, "1,2\n3,4\n");
        string[] args = option == "--eps" ? ["solve", "--x", x, "--y", x, option, value] : ["solve", "--x", x, "--y", x, "--eps", "0.1", option, value];
        var (code, error) = Run(args);
        Assert.Equal(2, code);
        Assert.Equal($"otnative: error: {expected}", error.Trim());
    }
}
