using System.Text.Json;
using OtNative.Cli;
using Xunit;

namespace OtNative.Tests;

[Collection("cli")]
public class CliSecondOrderTests
{
    /// <summary>Clouds x (n×2, seed) and y (m×2, seed + 1, offset 0.4) written as x.npy and y.npy in a fresh folder; P names a file in it.</summary>
    private static (Func<string, string> P, double[,] X, double[,] Y) CloudsOnDisk(int seed, int n, int m)
    {
        var x = TestData.Cloud(seed, n, 2);
        var y = TestData.Cloud(seed + 1, m, 2, 0.4);
        return (TestData.NpyInputs(("x", x), ("y", y)), x, y);
    }

    [Fact]
    public void HessianMatchesFiniteDifferencesOfGradAndHvpAndSpectrumAgree()
    {
        var dir = TestData.TempDirectory();
        var x = TestData.Cloud(5, 4, 2);
        string P(string f) => Path.Combine(dir, f);
        NpyFile.Write(P("x.npy"), x);
        NpyFile.Write(P("y.npy"), TestData.Cloud(6, 5, 2, 0.2));
        var common = new[] { "--y", P("y.npy"), "--eps", "0.3", "--tol", "1e-13", "--max-iter", "200000" };
        Assert.Equal(0, Program.Run(["hessian", "--x", P("x.npy"), "--out", P("h.npy"), .. common]));
        Assert.Equal(0, Program.Run(["hessian", "--x", P("x.npy"), "--out", P("hs.npy"), "--method", "schur", .. common]));
        var h = NpyFile.Read(P("h.npy")).ToMatrix();
        Assert.True(TestData.MaxRelativeError(NpyFile.Read(P("hs.npy")).ToMatrix(), h) < 1e-9);

        const double step = 1e-5;
        var fd = new double[8, 8];
        for (int t = 0; t < 8; t++)
        {
            double[] GradAt(double delta)
            {
                var moved = (double[,])x.Clone();
                moved[t / 2, t % 2] += delta;
                NpyFile.Write(P("xm.npy"), moved);
                Assert.Equal(0, Program.Run(["grad", "--x", P("xm.npy"), "--out", P("gm.npy"), .. common]));
                return NpyFile.Read(P("gm.npy")).Data;
            }
            var plus = GradAt(step);
            var minus = GradAt(-step);
            for (int u = 0; u < 8; u++) fd[u, t] = (plus[u] - minus[u]) / (2 * step);
        }
        Assert.True(TestData.MaxRelativeError(h, fd) < 1e-5, $"error {TestData.MaxRelativeError(h, fd)}");

        var a = TestData.Cloud(7, 4, 2);
        NpyFile.Write(P("a.npy"), a);
        Assert.Equal(0, Program.Run(["hvp", "--x", P("x.npy"), "--direction", P("a.npy"), "--out", P("ha.npy"), .. common]));
        var ha = NpyFile.Read(P("ha.npy")).ToMatrix();
        var expected = new double[4, 2];
        for (int u = 0; u < 8; u++)
            for (int t = 0; t < 8; t++)
                expected[u / 2, u % 2] += h[u, t] * a[t / 2, t % 2];
        Assert.True(TestData.MaxRelativeError(ha, expected) < 1e-8);

        Assert.Equal(0, Program.Run(["spectrum", "--x", P("x.npy"), "--json", P("s.json"), .. common]));
        using var doc = JsonDocument.Parse(File.ReadAllText(P("s.json")));
        var values = doc.RootElement.GetProperty("eigenvalues").EnumerateArray().Select(e => e.GetDouble()).ToArray();
        Assert.Equal(9, values.Length);
        Assert.True(values.Zip(values.Skip(1)).All(p => p.First <= p.Second));
        Assert.Equal(values[1], doc.RootElement.GetProperty("smallestPositive").GetDouble());
        Assert.Equal(values[^1] / values[1], doc.RootElement.GetProperty("conditionNumber").GetDouble(), 6);
    }

    [Fact]
    public void SharpGradientThroughTheCliMatchesFiniteDifferencesOfSolve()
    {
        var dir = TestData.TempDirectory();
        string P(string f) => Path.Combine(dir, f);
        var x = TestData.Cloud(8, 3, 2);
        NpyFile.Write(P("x.npy"), x);
        NpyFile.Write(P("y.npy"), TestData.Cloud(9, 4, 2, 0.3));
        var common = new[] { "--y", P("y.npy"), "--eps", "0.4", "--tol", "1e-13", "--max-iter", "200000" };
        Assert.Equal(0, Program.Run(["grad", "--x", P("x.npy"), "--loss", "sharp", "--out", P("g.npy"), .. common]));
        var g = NpyFile.Read(P("g.npy")).ToMatrix();
        var fd = new double[3, 2];
        const double step = 1e-5;
        for (int t = 0; t < 6; t++)
        {
            double SharpAt(double delta)
            {
                var moved = (double[,])x.Clone();
                moved[t / 2, t % 2] += delta;
                NpyFile.Write(P("xm.npy"), moved);
                Assert.Equal(0, Program.Run(["solve", "--x", P("xm.npy"), "--json", P("s.json"), .. common]));
                using var doc = JsonDocument.Parse(File.ReadAllText(P("s.json")));
                return doc.RootElement.GetProperty("sharp").GetDouble();
            }
            fd[t / 2, t % 2] = (SharpAt(step) - SharpAt(-step)) / (2 * step);
        }
        Assert.True(TestData.MaxRelativeError(g, fd) < 1e-5, $"error {TestData.MaxRelativeError(g, fd)}");

        // ∂S/∂C through the chain rule ∂C_kj/∂x_k = 2(x_k − y_j) must give the same x-gradient.
        Assert.Equal(0, Program.Run(["grad", "--x", P("x.npy"), "--loss", "sharp", "--wrt", "cost", "--out", P("dc.npy"), .. common]));
        var dc = NpyFile.Read(P("dc.npy")).ToMatrix();
        var y = NpyFile.Read(P("y.npy")).ToMatrix();
        Assert.Equal(4, dc.GetLength(1));
        var chained = new double[3, 2];
        for (int k = 0; k < 3; k++)
            for (int j = 0; j < 4; j++)
                for (int q = 0; q < 2; q++)
                    chained[k, q] += dc[k, j] * 2 * (x[k, q] - y[j, q]);
        Assert.True(TestData.MaxRelativeError(chained, g) < 1e-8, $"chain rule error {TestData.MaxRelativeError(chained, g)}");
    }

    [Fact]
    public void AnUnconvergedCgIsANumericalFailureUnlessAllowedAndItsReportIsWritten()
    {
        var P = TestData.NpyInputs(("x", TestData.Cloud(10, 12, 2)), ("y", TestData.Cloud(11, 9, 2, 0.3)), ("a", TestData.Cloud(12, 12, 2)));
        var common = new[] { "--x", P("x.npy"), "--y", P("y.npy"), "--eps", "0.2", "--tol", "1e-12" };
        var (code, error) = CliRun.InProcess(["hvp", "--direction", P("a.npy"), "--out", P("ha.npy"), "--max-cg", "1", .. common]);
        Assert.Equal(1, code);
        Assert.Contains("CG for the Hessian-vector product stopped after 1 iterations", error);
        // The command's options, not the API's settings, are what to change.
        Assert.Contains("--max-cg", error);
        Assert.Contains("--allow-unconverged", error);
        Assert.DoesNotContain("MaxIterations", error);
        Assert.Single(error.ToString().Trim().Split('\n'));
        Assert.False(File.Exists(P("ha.npy")));

        Assert.Equal(0, Program.Run(["hvp", "--direction", P("a.npy"), "--out", P("ha.npy"), "--max-cg", "1", "--allow-unconverged", "--json", P("h.json"), .. common]));
        using (var doc = JsonDocument.Parse(File.ReadAllText(P("h.json"))))
        {
            Assert.False(doc.RootElement.GetProperty("cgConverged").GetBoolean());
            Assert.Equal(1, doc.RootElement.GetProperty("cgIterations").GetInt32());
        }

        Assert.Equal(0, Program.Run(["grad", "--loss", "sharp", "--out", P("g.npy"), "--json", P("g.json"), .. common]));
        using (var doc = JsonDocument.Parse(File.ReadAllText(P("g.json"))))
        {
            Assert.True(doc.RootElement.GetProperty("cgConverged").GetBoolean());
            Assert.True(doc.RootElement.GetProperty("cgResidual").GetDouble() <= 1e-10);
            Assert.InRange(doc.RootElement.GetProperty("cgIterations").GetInt32(), 1, 500);
        }
    }

    [Fact]
    public void GradOfTheDivergenceIsTheFacadesDivergenceGradient()
    {
        var (P, x, y) = CloudsOnDisk(13, 8, 6);
        Assert.Equal(0, Program.Run(["grad", "--x", P("x.npy"), "--y", P("y.npy"), "--eps", "0.2", "--tol", "1e-12", "--loss", "divergence", "--out", P("g.npy")]));
        var expected = EntropicOT.DivergenceGradient(x, y, new SinkhornOptions { Solver = SinkhornSolver.Sinkhorn, EpsilonRelative = false, Epsilon = 0.2, Tolerance = 1e-12 });
        Assert.True(TestData.MaxRelativeError(NpyFile.Read(P("g.npy")).ToMatrix(), expected) < 1e-12);
    }

    [Theory]
    [InlineData("eot")]
    [InlineData("sharp")]
    [InlineData("divergence")]
    public void GradWritesTheValueOfTheLossItDifferentiates(string loss)
    {
        var (P, _, _) = CloudsOnDisk(17, 9, 7);
        var common = new[] { "--x", P("x.npy"), "--y", P("y.npy"), "--eps", "0.2", "--tol", "1e-11" };
        Assert.Equal(0, Program.Run(["grad", "--loss", loss, "--out", P("g.npy"), "--json", P("g.json"), .. common]));
        Assert.Equal(0, Program.Run(["solve", "--json", P("s.json"), .. common]));
        using var grad = JsonDocument.Parse(File.ReadAllText(P("g.json")));
        using var solve = JsonDocument.Parse(File.ReadAllText(P("s.json")));
        var expected = solve.RootElement.GetProperty(loss switch { "sharp" => "sharp", "divergence" => "divergence", _ => "value" }).GetDouble();
        Assert.Equal(expected, grad.RootElement.GetProperty("value").GetDouble(), 1e-9);
        Assert.Equal(solve.RootElement.GetProperty("value").GetDouble(), grad.RootElement.GetProperty("entropicValue").GetDouble(), 1e-12);
        Assert.True(grad.RootElement.GetProperty("converged").GetBoolean());
        Assert.True(grad.RootElement.GetProperty("epsilonHeldFixed").GetBoolean());
        if (loss == "divergence")
        {
            Assert.True(grad.RootElement.GetProperty("selfTermsConverged").GetBoolean());
            Assert.True(grad.RootElement.GetProperty("crossConverged").GetBoolean());
        }
    }

    [Fact]
    public void TheDivergencesHessianAndHvpSayWhetherItsSelfTermsConverged()
    {
        var (P, _, _) = CloudsOnDisk(25, 6, 5);
        NpyFile.Write(P("a.npy"), TestData.Cloud(26, 6, 2));
        // Three iterations: the cross term and the self-terms stop short, and the JSON says which.
        var common = new[] { "--x", P("x.npy"), "--y", P("y.npy"), "--eps", "0.05", "--tol", "1e-12", "--max-iter", "3", "--loss", "divergence" };
        Assert.Equal(0, Program.Run(["hessian", "--out", P("h.npy"), "--json", P("h.json"), .. common]));
        Assert.Equal(0, Program.Run(["hvp", "--direction", P("a.npy"), "--allow-unconverged", "--out", P("ha.npy"), "--json", P("hv.json"), .. common]));
        foreach (var file in new[] { "h.json", "hv.json" })
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(P(file)));
            Assert.False(doc.RootElement.GetProperty("converged").GetBoolean(), file);
            Assert.False(doc.RootElement.GetProperty("selfTermsConverged").GetBoolean(), file);
            Assert.False(doc.RootElement.GetProperty("crossConverged").GetBoolean(), file);
            Assert.True(double.IsFinite(doc.RootElement.GetProperty("value").GetDouble()), file);
        }
    }

    [Fact]
    public void HessianOfTheDivergenceIsTheFacadesAndTheDerivativeOfItsGradient()
    {
        var x = TestData.Cloud(15, 4, 2);
        var y = TestData.Cloud(16, 5, 2, 0.3);
        var P = TestData.NpyInputs(("x", x), ("y", y));
        Assert.Equal(0, Program.Run(["hessian", "--x", P("x.npy"), "--y", P("y.npy"), "--eps", "0.3", "--tol", "1e-13", "--max-iter", "200000", "--loss", "divergence", "--out", P("h.npy")]));
        var options = new SinkhornOptions { Solver = SinkhornSolver.Sinkhorn, EpsilonRelative = false, Epsilon = 0.3, Tolerance = 1e-13, MaxIterations = 200_000 };
        var h = NpyFile.Read(P("h.npy")).ToMatrix();
        Assert.True(TestData.MaxRelativeError(h, EntropicOT.DivergenceHessian(x, y, options)) < 1e-12);
        const double step = 1e-5;
        var fd = new double[8, 8];
        for (int t = 0; t < 8; t++)
        {
            double[,] At(double delta) { var moved = (double[,])x.Clone(); moved[t / 2, t % 2] += delta; return EntropicOT.DivergenceGradient(moved, y, options); }
            var plus = At(step);
            var minus = At(-step);
            for (int u = 0; u < 8; u++) fd[u, t] = (plus[u / 2, u % 2] - minus[u / 2, u % 2]) / (2 * step);
        }
        Assert.True(TestData.MaxRelativeError(h, fd) < 1e-5, $"error {TestData.MaxRelativeError(h, fd)}");
    }

    [Fact]
    public void HvpOfTheDivergenceIsItsDenseHessianTimesTheDirection()
    {
        var x = TestData.Cloud(17, 6, 2);
        var y = TestData.Cloud(18, 5, 2, 0.3);
        var a = TestData.Cloud(19, 6, 2);
        var P = TestData.NpyInputs(("x", x), ("y", y), ("a", a));
        Assert.Equal(0, Program.Run(["hvp", "--x", P("x.npy"), "--y", P("y.npy"), "--eps", "0.3", "--tol", "1e-13", "--max-iter", "200000",
            "--loss", "divergence", "--direction", P("a.npy"), "--cg-tol", "1e-13", "--max-cg", "5000", "--out", P("ha.npy"), "--json", P("h.json")]));
        var options = new SinkhornOptions { Solver = SinkhornSolver.Sinkhorn, EpsilonRelative = false, Epsilon = 0.3, Tolerance = 1e-13, MaxIterations = 200_000 };
        var h = EntropicOT.DivergenceHessian(x, y, options);
        var expected = new double[6, 2];
        for (int u = 0; u < 12; u++)
            for (int t = 0; t < 12; t++) expected[u / 2, u % 2] += h[u, t] * a[t / 2, t % 2];
        Assert.True(TestData.MaxRelativeError(NpyFile.Read(P("ha.npy")).ToMatrix(), expected) < 1e-8,
            $"error {TestData.MaxRelativeError(NpyFile.Read(P("ha.npy")).ToMatrix(), expected)}");
        using var doc = JsonDocument.Parse(File.ReadAllText(P("h.json")));
        Assert.Equal("divergence", doc.RootElement.GetProperty("loss").GetString());
        Assert.True(doc.RootElement.GetProperty("cgConverged").GetBoolean());
    }
}
