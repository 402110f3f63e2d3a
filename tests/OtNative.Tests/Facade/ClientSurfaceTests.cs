using Xunit;

namespace OtNative.Tests;

/// <summary>
/// The public API the command line and the benchmarks use instead of the core: data sets, the self-transport solve,
/// the dense-memory check, the CPU widths, named batch problems and the diagnostics.
/// </summary>
public class ClientSurfaceTests
{
    private static SinkhornOptions Tight => new() { Epsilon = 0.1, EpsilonRelative = true, Tolerance = 1e-11 };

    [Fact]
    public void ScenesHaveThePapersPointCountsAndUnknownNamesAreRefused()
    {
        Assert.Equal(3500, Datasets.Scene(new Random(1)).GetLength(0));
        Assert.Equal(500, Datasets.Scene(new Random(1), "chair").GetLength(0));
        Assert.Equal(150, Datasets.Scene(new Random(1), "desk", 0.1).GetLength(0));
        Assert.Equal(3, Datasets.Scene(new Random(1), "sofa").GetLength(1));
        // The same seed, the same scene.
        Assert.Equal(Datasets.Scene(new Random(7), "room", 0.05), Datasets.Scene(new Random(7), "room", 0.05));
        Assert.Throws<ArgumentException>(() => Datasets.Scene(new Random(1), "lamp"));
        Assert.Throws<ArgumentException>(() => Datasets.Scene(new Random(1), "room", 0));
    }

    [Fact]
    public void UniformAndNormalDrawsHaveTheirMoments()
    {
        var u = Datasets.UniformCube(new Random(2), 4000, 3);
        Assert.All(u.Cast<double>(), v => Assert.InRange(v, 0, 1));
        Assert.InRange(u.Cast<double>().Average(), 0.5 - 0.02, 0.5 + 0.02);
        var z = Datasets.StandardNormal(new Random(3), 10_000, 2).Cast<double>().ToArray();
        var mean = z.Average();
        var variance = z.Select(v => (v - mean) * (v - mean)).Average();
        // Five standard errors of 20 000 draws.
        Assert.InRange(mean, -5 / Math.Sqrt(z.Length), 5 / Math.Sqrt(z.Length));
        Assert.InRange(variance, 1 - 5 * Math.Sqrt(2.0 / z.Length), 1 + 5 * Math.Sqrt(2.0 / z.Length));
        Assert.Throws<ArgumentOutOfRangeException>(() => Datasets.UniformCube(new Random(1), 0, 2));
    }

    [Fact]
    public void ANoiselessRegistrationIsAShuffleOfTheMappedCentredSource()
    {
        var source = Datasets.Scene(new Random(4), "chair", 0.1);
        var problem = Datasets.Registration(new Random(5), source, 1.3, 0, 0.3);
        int n = problem.X.GetLength(0);
        for (int c = 0; c < 3; c++) Assert.InRange(Enumerable.Range(0, n).Average(i => problem.X[i, c]), -1e-12, 1e-12);
        var theta = problem.ThetaStar!;
        string Key(double[] row) => string.Join(",", row.Select(v => Math.Round(v, 9)));
        var mapped = Enumerable.Range(0, n).Select(i => Key(Enumerable.Range(0, 3).Select(j => Enumerable.Range(0, 3).Sum(k => problem.X[i, k] * theta[k, j])).ToArray()));
        var targets = Enumerable.Range(0, n).Select(i => Key(Enumerable.Range(0, 3).Select(j => problem.Y[i, j]).ToArray()));
        Assert.Equal(mapped.OrderBy(k => k, StringComparer.Ordinal), targets.OrderBy(k => k, StringComparer.Ordinal));
        // θ* = s Qᵀ: θ*ᵀθ* = s² I.
        for (int a = 0; a < 3; a++)
            for (int b = 0; b < 3; b++)
                Assert.Equal(a == b ? 1.69 : 0, Enumerable.Range(0, 3).Sum(k => theta[k, a] * theta[k, b]), 12);
        var rotation = Datasets.Registration(new Random(5), source, 1.3, 0.01, 0.3, rotationScale: true);
        Assert.Same(ParameterMap.RotationScale, rotation.Map);
        Assert.Equal(rotation.Map!.ToTheta(rotation.Phi0!), rotation.Theta0);
        Assert.Throws<ArgumentException>(() => Datasets.Registration(new Random(5), new double[,] { { 1, 2 }, { 3, 4 } }, 1, 0, 0, rotationScale: true));
        var gmm = Datasets.GaussianMixtureRegression(4, 80, 2, 3);
        Assert.Equal((80, 2, 80, 3, 2, 3), (gmm.X.GetLength(0), gmm.X.GetLength(1), gmm.Y.GetLength(0), gmm.Y.GetLength(1), gmm.Theta0.GetLength(0), gmm.Theta0.GetLength(1)));
    }

    [Fact]
    public void ALinearMapsThetaIsItsParametersRowByRow()
    {
        Assert.Equal(new double[,] { { 1, 2, 3 }, { 4, 5, 6 } }, ParameterMap.Linear(2, 3).ToTheta([1, 2, 3, 4, 5, 6]));
        Assert.Throws<ArgumentException>(() => ParameterMap.Linear(2, 3).ToTheta([1, 2]));
    }

    [Fact]
    public void TheSymmetricSelfSolveHasTheAlternatingSolvesValueInFewerPasses()
    {
        var x = TestData.Cloud(11, 60, 2);
        using var alternating = EntropicOT.Solve(x, x, Tight);
        using var symmetric = EntropicOT.SolveSelf(x, null, Tight);
        Assert.True(symmetric.Converged);
        Assert.Equal(alternating.Value, symmetric.Value, 9);
        Assert.Equal(symmetric.F, symmetric.G);
        Assert.True(symmetric.Passes < alternating.Passes, $"{symmetric.Passes} vs {alternating.Passes}");
        var a = Enumerable.Range(1, 60).Select(i => i / 1830.0).ToArray();
        using var weighted = EntropicOT.SolveSelf(x, a, Tight);
        using var reference = EntropicOT.Solve(x, x, a, a, Tight);
        Assert.Equal(reference.Value, weighted.Value, 9);
    }

    [Fact]
    public void DenseResultsThatCannotFitAreRefusedBeforeAnySolve()
    {
        EntropicOT.RequireMemory(DenseResult.Hessian, 50, 40, 2);
        EntropicOT.RequireMemory(DenseResult.Spectrum, 50, 40, 2);
        EntropicOT.RequireMemory(DenseResult.DivergenceHessian, 50, 40, 2, HessianMethod.Schur);
        foreach (var result in new[] { DenseResult.Hessian, DenseResult.DivergenceHessian, DenseResult.Spectrum })
        {
            var e = Assert.Throws<InsufficientMemoryException>(() => EntropicOT.RequireMemory(result, 400_000, 400_000, 3));
            Assert.Contains("GiB", e.Message);
        }
        Assert.Throws<ArgumentOutOfRangeException>(() => EntropicOT.RequireMemory(DenseResult.Hessian, 0, 4, 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => EntropicOT.RequireMemory((DenseResult)9, 4, 4, 2));
    }

    [Fact]
    public void WidthsRoundTripThroughTheirNamesAndTheExponentialHasACost()
    {
        foreach (var width in new[] { CpuVectorWidth.Scalar, CpuVectorWidth.Bits128, CpuVectorWidth.Bits256, CpuVectorWidth.Bits512 })
        {
            Assert.Equal(width, CpuVectorWidths.Parse(CpuVectorWidths.Name(width)));
            Assert.Contains("float64", CpuVectorWidths.Describe(width));
        }
        Assert.Equal(["512", "256", "128", "scalar"], CpuVectorWidths.Names);
        Assert.NotEqual(CpuVectorWidth.Auto, CpuVectorWidths.Configured);
        Assert.Contains("hardware", CpuVectorWidths.Describe(CpuVectorWidths.Widest));
        var e = Assert.Throws<ArgumentException>(() => CpuVectorWidths.Parse("1024"));
        Assert.Contains("scalar", e.Message);
        Assert.InRange(CpuVectorWidths.MeasureExpNanoseconds(CpuVectorWidth.Scalar), 1e-3, 1e3);
        Assert.InRange(OtNativeEnvironment.MeasureGramGflops(120), 1e-3, 1e6);
    }

    [Fact]
    public void ANamedBatchProblemsErrorNamesItAndSolvedItemsCarryTheirTime()
    {
        var broken = TestData.Cloud(3, 5, 2);
        broken[2, 1] = double.NaN;
        var outcomes = EntropicOT.TrySolveBatch(
            [new BatchProblem(TestData.Cloud(1, 12, 2), TestData.Cloud(2, 10, 2), Name: "good"), new BatchProblem(broken, TestData.Cloud(4, 5, 2), Name: "pair-q")],
            Tight);
        Assert.True(outcomes[0].Succeeded);
        Assert.True(outcomes[0].Item!.Elapsed > TimeSpan.Zero);
        var error = Assert.IsAssignableFrom<ArgumentException>(outcomes[1].Error);
        Assert.Contains("pair-q.X", error.Message);
        Assert.Contains("[2, 1]", error.Message);
    }
}
