using OtNative.Core;
using Xunit;

namespace OtNative.Tests;

public class FacadeTests
{
    [Fact]
    public void MixedPrecisionReportsItsFloat32IterationsAndGivesTheFloat64Answer()
    {
        var x = TestData.Cloud(9, 320, 2);
        var y = TestData.Cloud(10, 300, 2, 0.5);
        var options = new SinkhornOptions { Epsilon = 0.05, EpsilonRelative = true, Tolerance = 1e-8 };
        using var plain = EntropicOT.Solve(x, y, options);
        using var mixed = EntropicOT.Solve(x, y, options with { Precision = SinkhornPrecision.Mixed });
        Assert.Equal(0, plain.MixedIterations);
        Assert.True(mixed.MixedIterations > 0 && mixed.MixedIterations < mixed.Iterations, $"{mixed.MixedIterations} of {mixed.Iterations}");
        Assert.True(mixed.Converged && mixed.MarginalError < 1e-8);
        // Within what the two plans' marginal errors allow (docs/math.md §1): |potentials| · (δ_mixed + δ_plain).
        var scale = new[] { mixed.F, mixed.G, plain.F, plain.G }.Sum(v => v.Max(Math.Abs));
        Assert.InRange(Math.Abs(plain.Value - mixed.Value), 0, scale * (mixed.MarginalError + plain.MarginalError) + 1e-14);
        Assert.Throws<ArgumentOutOfRangeException>(() => EntropicOT.Solve(x, y, options with { Precision = (SinkhornPrecision)7 }));
    }

    [Fact]
    public void SinglePointsHaveTheCostAsValueAndSharpValue()
    {
        using var r = EntropicOT.Solve(new double[,] { { 1, 2, 3 } }, new double[,] { { 0, 0, 1 } }, new SinkhornOptions { Epsilon = 0.1, EpsilonRelative = false });
        Assert.Equal(1 + 4 + 4, r.Value, 12);
        Assert.Equal(9, r.SharpValue, 12);
        Assert.True(r.Converged);
        var g = r.Gradient();
        Assert.Equal(new[] { 2.0, 4.0, 4.0 }, new[] { g[0, 0], g[0, 1], g[0, 2] });
    }

    [Fact]
    public void GradientMatchesFiniteDifferencesThroughTheFacade()
    {
        var x = TestData.Cloud(1, 6, 2);
        var y = TestData.Cloud(2, 8, 2, 0.5);
        var a = new[] { 0.1, 0.2, 0.15, 0.25, 0.1, 0.2 };
        var options = new SinkhornOptions { Epsilon = 0.2, EpsilonRelative = false, Tolerance = 1e-12 };
        using var r = EntropicOT.Solve(x, y, a, null, options);
        var g = r.Gradient();
        var fd = new double[6, 2];
        const double h = 1e-5;
        for (int i = 0; i < 6; i++)
            for (int k = 0; k < 2; k++)
            {
                double At(double delta)
                {
                    var moved = (double[,])x.Clone();
                    moved[i, k] += delta;
                    using var s = EntropicOT.Solve(moved, y, a, null, options with { InitialF = r.F });
                    return s.Value;
                }
                fd[i, k] = (At(h) - At(-h)) / (2 * h);
            }
        Assert.True(TestData.MaxRelativeError(g, fd) < 1e-6, $"error {TestData.MaxRelativeError(g, fd)}");
    }

    [Fact]
    public void PlanHasTheTargetMarginalAndTheReportedRowError()
    {
        var x = TestData.Cloud(3, 10, 3);
        var y = TestData.Cloud(4, 7, 3);
        using var r = EntropicOT.Solve(x, y, new SinkhornOptions { EpsilonRelative = false, Solver = SinkhornSolver.Sinkhorn, AllowUnconverged = true, MaxIterations = 4, Tolerance = 1e-300 });
        var plan = r.Plan();
        double rowError = 0;
        for (int i = 0; i < 10; i++)
        {
            double s = 0;
            for (int j = 0; j < 7; j++) s += plan[i, j];
            rowError += Math.Abs(s - 0.1);
        }
        for (int j = 0; j < 7; j++)
        {
            double s = 0;
            for (int i = 0; i < 10; i++) s += plan[i, j];
            Assert.Equal(1.0 / 7, s, 12);
        }
        Assert.Equal(rowError, r.MarginalError, 10);
        Assert.False(r.Converged);
    }

    [Fact]
    public void CostMatrixSolveEqualsPointCloudSolve()
    {
        var x = TestData.Cloud(5, 5, 2);
        var y = TestData.Cloud(6, 4, 2);
        var cost = new double[5, 4];
        for (int i = 0; i < 5; i++)
            for (int j = 0; j < 4; j++)
                cost[i, j] = Math.Pow(x[i, 0] - y[j, 0], 2) + Math.Pow(x[i, 1] - y[j, 1], 2);
        var options = new SinkhornOptions { Epsilon = 0.3, EpsilonRelative = false, Tolerance = 1e-12 };
        using var fromPoints = EntropicOT.Solve(x, y, options);
        using var fromCost = EntropicOT.SolveCost(cost, null, null, options);
        Assert.Equal(fromPoints.Value, fromCost.Value, 10);
        Assert.Equal(fromPoints.SharpValue, fromCost.SharpValue, 10);
        Assert.Throws<NotSupportedException>(() => fromCost.Gradient());
    }

    [Fact]
    public void DivergenceOfACloudWithItselfIsZeroAndPositiveOtherwise()
    {
        var x = TestData.Cloud(7, 20, 2);
        var same = EntropicOT.Divergence(x, x, null, null, new SinkhornOptions { EpsilonRelative = false, Tolerance = 1e-10 });
        Assert.Equal(0.0, same.Value, 10);
        var other = EntropicOT.Divergence(x, TestData.Cloud(8, 15, 2, 1.0), null, null, new SinkhornOptions { EpsilonRelative = false, Tolerance = 1e-10 });
        Assert.True(other.Value > 0.1);
        Assert.Equal(other.CrossValue - 0.5 * other.SourceSelfValue - 0.5 * other.TargetSelfValue, other.Value, 12);
    }

    [Fact]
    public void ASolvedDivergenceGivesEveryOneShotEntryPointsNumbersFromOneSetOfSolves()
    {
        var x = TestData.Cloud(21, 9, 2);
        var y = TestData.Cloud(22, 7, 2, 0.4);
        var a = Enumerable.Range(1, 9).Select(i => i / 45.0).ToArray();
        var options = new SinkhornOptions { Epsilon = 0.2, EpsilonRelative = true, Tolerance = 1e-12, MaxIterations = 100_000 };
        var direction = TestData.Cloud(23, 9, 2);
        using var solved = EntropicOT.SolveDivergence(x, y, a, null, options);
        var once = EntropicOT.Divergence(x, y, a, null, options);
        Assert.Equal(once.Value, solved.Value, 14);
        Assert.Equal(once.Epsilon, solved.Epsilon);
        using (var cross = EntropicOT.Solve(x, y, a, null, options))
        {
            Assert.Equal(cross.Value, solved.CrossValue, 14);
            Assert.Equal(cross.Iterations, solved.CrossIterations);
        }
        Assert.True(solved.Converged && solved.CrossConverged && solved.SelfTermsConverged);
        Assert.True(TestData.MaxRelativeError(solved.Gradient(), EntropicOT.DivergenceGradient(x, y, a, null, options)) < 1e-13);
        var hessian = solved.Hessian();
        Assert.True(TestData.MaxRelativeError(hessian, EntropicOT.DivergenceHessian(x, y, a, null, options)) < 1e-12);
        var product = solved.HessianVectorProduct(direction, new CgOptions { Tolerance = 1e-13, MaxIterations = 5000 });
        var expected = new double[9, 2];
        for (int u = 0; u < 18; u++)
            for (int t = 0; t < 18; t++) expected[u / 2, u % 2] += hessian[u, t] * direction[t / 2, t % 2];
        Assert.True(TestData.MaxRelativeError(product.Value, expected) < 1e-8, $"HVP vs dense {TestData.MaxRelativeError(product.Value, expected)}");
        solved.Dispose();
        Assert.Throws<ObjectDisposedException>(() => solved.Gradient());
        Assert.Throws<ObjectDisposedException>(() => solved.Value);
    }

    [Fact]
    public void ADivergenceProductRefusesAMisshapenDirectionBeforeItsSolves()
    {
        var x = TestData.Cloud(24, 6, 2);
        var e = Assert.Throws<ArgumentException>(() => EntropicOT.DivergenceHessianVectorProduct(x, x, null, null, new double[5, 2]));
        Assert.Equal("direction", e.ParamName);
    }

    [Fact]
    public void TrySolveBatchKeepsEveryProblemsOwnOutcomeWeightsAndPotentials()
    {
        var x = TestData.Cloud(41, 8, 2);
        var y = TestData.Cloud(42, 6, 2, 0.5);
        var a = Enumerable.Range(1, 8).Select(i => i / 36.0).ToArray();
        var bad = TestData.Cloud(43, 5, 2);
        bad[2, 0] = double.NaN;
        var options = new SinkhornOptions { Epsilon = 0.1, EpsilonRelative = true, Tolerance = 1e-10 };
        var outcomes = EntropicOT.TrySolveBatch([new BatchProblem(x, y, a), new BatchProblem(bad, y), new BatchProblem(y, x)], options, sharpValues: true);
        Assert.Equal(3, outcomes.Length);
        Assert.True(outcomes[0].Succeeded && outcomes[2].Succeeded);
        var invalid = Assert.IsAssignableFrom<ArgumentException>(outcomes[1].Error);
        Assert.Equal("problems[1].X", invalid.ParamName);
        Assert.Null(outcomes[1].Item);
        // The weighted problem is the weighted single solve, potentials included.
        using var single = EntropicOT.Solve(x, y, a, null, options);
        var item = outcomes[0].Item!;
        Assert.Equal(single.Value, item.Value, 13);
        Assert.Equal(single.F, item.F);
        Assert.Equal(single.G, item.G);
        Assert.Equal(single.SharpValue, item.SharpValue!.Value, 13);
        Assert.Null(EntropicOT.SolveBatch([(x, y)], options)[0].SharpValue);
        Assert.True(TestData.MaxRelativeError(single.Gradient(), item.Gradient!) < 1e-13);
        Assert.Equal(2, outcomes[2].Index);
        // SolveBatch refuses the invalid problem before solving any, naming it.
        var e = Assert.Throws<ArgumentException>(() => EntropicOT.SolveBatch([(x, y), (bad, y)], options));
        Assert.Equal("problems[1].X", e.ParamName);
        var count = Assert.Throws<ArgumentException>(() => EntropicOT.SolveBatch([(x, y)], options, hvpDirections: []));
        Assert.Equal("hvpDirections", count.ParamName);
    }

    /// <summary>Keeps what is logged.</summary>
    private sealed class ListLogger : Microsoft.Extensions.Logging.ILogger
    {
        public List<(Microsoft.Extensions.Logging.LogLevel Level, string Message)> Entries { get; } = [];
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(Microsoft.Extensions.Logging.LogLevel logLevel) => true;
        public void Log<TState>(Microsoft.Extensions.Logging.LogLevel logLevel, Microsoft.Extensions.Logging.EventId eventId, TState state, Exception? exception,
            Func<TState, Exception?, string> formatter) => Entries.Add((logLevel, formatter(state, exception)));
    }

    [Fact]
    public void TheLoggerHearsOfTheFallbacksASolveTakesAndTheResultNamesItsLinearAlgebra()
    {
        var logger = new ListLogger();
        using var result = EntropicOT.Solve(TestData.Cloud(51, 7, 2), TestData.Cloud(52, 6, 2), new SinkhornOptions { EpsilonRelative = false, Backend = ComputeBackend.Auto, Logger = logger });
        var environment = OtNativeEnvironment.Describe();
        Assert.Equal(environment.LinearAlgebra, result.LinearAlgebra);
        // Without a GPU, Auto runs on the CPU and says why; the managed linear algebra is a fallback worth a warning too.
        var expected = (Backends.IsCudaAvailable ? 0 : 1) + (environment.NativeLinearAlgebra ? 0 : 1);
        Assert.Equal(expected, logger.Entries.Count(e => e.Level == Microsoft.Extensions.Logging.LogLevel.Warning));
        if (!Backends.IsCudaAvailable)
            Assert.Contains(logger.Entries, e => e.Message.Contains("CPU instead of CUDA", StringComparison.Ordinal) && e.Message.Contains(result.BackendNote!, StringComparison.Ordinal));
        var quiet = new ListLogger();
        using (EntropicOT.Solve(TestData.Cloud(51, 7, 2), TestData.Cloud(52, 6, 2), new SinkhornOptions { EpsilonRelative = false, Logger = quiet }))
            Assert.Equal(environment.NativeLinearAlgebra ? 0 : 1, quiet.Entries.Count);
    }

    [Fact]
    public void TheEnvironmentSaysWhatTheSolvesRunOn()
    {
        var environment = OtNativeEnvironment.Describe();
        Assert.Contains(environment.SimdWidth, new[] { "512", "256", "128", "scalar" });
        Assert.InRange(environment.Threads, 1, Math.Max(1, Environment.ProcessorCount));
        Assert.Equal(environment.NativeLinearAlgebra, environment.LinearAlgebra.StartsWith("native", StringComparison.Ordinal));
        Assert.Contains($"SIMD {environment.SimdWidth}", environment.CpuBackend.Replace("-bit", "", StringComparison.Ordinal));
        var rows = environment.Rows();
        Assert.Equal(environment.Version, rows.Single(r => r.Component == "OtNative").Status);
        Assert.Equal(environment.CudaDevices.Count, rows.Count(r => r.Component.StartsWith("cuda device", StringComparison.Ordinal)));
        Assert.Equal(environment.Mpi, rows.Single(r => r.Component == "mpi").Status);
    }

    [Fact]
    public void LinearModelGradientIsDesignTransposeTimesGradient()
    {
        var design = TestData.Cloud(9, 6, 3);
        var theta = TestData.Cloud(10, 3, 2);
        var x = new double[6, 2];
        for (int i = 0; i < 6; i++)
            for (int k = 0; k < 2; k++)
                for (int p = 0; p < 3; p++)
                    x[i, k] += design[i, p] * theta[p, k];
        using var r = EntropicOT.Solve(x, TestData.Cloud(11, 5, 2));
        var g = r.Gradient();
        var gt = r.GradientLinearModel(design);
        for (int p = 0; p < 3; p++)
            for (int k = 0; k < 2; k++)
            {
                double expected = 0;
                for (int i = 0; i < 6; i++) expected += design[i, p] * g[i, k];
                Assert.Equal(expected, gt[p, k], 12);
            }
    }

    [Fact]
    public void BadInputsNameTheParameter()
    {
        var x = TestData.Cloud(1, 3, 2);
        var y = TestData.Cloud(2, 4, 2);
        var nan = (double[,])x.Clone();
        nan[2, 1] = double.NaN;
        Assert.Equal("x", Assert.ThrowsAny<ArgumentException>(() => EntropicOT.Solve(nan, y)).ParamName);
        Assert.Equal("x", Assert.ThrowsAny<ArgumentException>(() => EntropicOT.Solve(null!, y)).ParamName);
        Assert.Equal("a", Assert.ThrowsAny<ArgumentException>(() => EntropicOT.Solve(x, y, [0.5, 0.5, 0.5], null)).ParamName);
        Assert.Equal("b", Assert.ThrowsAny<ArgumentException>(() => EntropicOT.Solve(x, y, null, [0.5, 0.5])).ParamName);
        Assert.Equal("y", Assert.ThrowsAny<ArgumentException>(() => EntropicOT.Solve(x, new double[4, 3])).ParamName);
        Assert.Equal("Epsilon", Assert.ThrowsAny<ArgumentException>(() => EntropicOT.Solve(x, y, new SinkhornOptions { EpsilonRelative = false, Epsilon = -1 })).ParamName);
        Assert.Equal("Tolerance", Assert.ThrowsAny<ArgumentException>(() => EntropicOT.Solve(x, y, new SinkhornOptions { EpsilonRelative = false, Tolerance = 0 })).ParamName);
    }

    [Fact]
    public void RenormalisationIsOptIn()
    {
        var x = TestData.Cloud(1, 3, 2);
        var y = TestData.Cloud(2, 2, 2);
        using var r = EntropicOT.Solve(x, y, [2, 1, 1], null, new SinkhornOptions { EpsilonRelative = false, RenormalizeWeights = true, Tolerance = 1e-12 });
        using var s = EntropicOT.Solve(x, y, [0.5, 0.25, 0.25], null, new SinkhornOptions { EpsilonRelative = false, Tolerance = 1e-12 });
        Assert.Equal(s.Value, r.Value, 12);
    }

    [Fact]
    public void ProgressIsReported()
    {
        var seen = new List<int>();
        var progress = new SynchronousProgress<SinkhornProgress>(p => seen.Add(p.Iteration));
        using var r = EntropicOT.Solve(TestData.Cloud(1, 30, 2), TestData.Cloud(2, 30, 2), new SinkhornOptions { EpsilonRelative = false, Solver = SinkhornSolver.Sinkhorn, AllowUnconverged = true, Epsilon = 0.01, Tolerance = 1e-12, Progress = progress, ProgressInterval = 3 });
        Assert.Equal(r.Iterations / 3, seen.Count);
    }

    [Fact]
    public void CudaBackendFailsLoudlyWhereItCannotRunAndAutoFallsBackToTheCpu()
    {
        if (((Core.IBackend)Core.CudaBackend.Instance).IsAvailable)
        {
            Assert.Equal("cuda", Backends.Resolve(ComputeBackend.Cuda).Name);
            Assert.Equal("cuda", Backends.Resolve(ComputeBackend.Auto).Name);
            return;
        }
        var ex = Assert.Throws<NotSupportedException>(() => EntropicOT.Solve(TestData.Cloud(1, 3, 2), TestData.Cloud(2, 3, 2), new SinkhornOptions { EpsilonRelative = false, Backend = ComputeBackend.Cuda }));
        Assert.Contains("CUDA", ex.Message);
        Assert.Equal("cpu", Backends.Resolve(ComputeBackend.Auto).Name);
        Assert.StartsWith("CUDA unavailable", ((Core.IBackend)Core.CudaBackend.Instance).Description);
    }

    [Fact]
    public void AutoFallsBackToTheCpuWithTheReasonWhereCudaCannotTakeTheProblem()
    {
        var cost = new double[,] { { 0, 1, 4 }, { 1, 0, 1 } };
        using var fromCost = EntropicOT.SolveCost(cost, options: new SinkhornOptions { Epsilon = 0.5, EpsilonRelative = false, Backend = ComputeBackend.Auto });
        Assert.Equal("cpu", fromCost.Backend);
        Assert.Contains("cost matrix", fromCost.BackendNote);
        using var highDimension = EntropicOT.Solve(TestData.Cloud(3, 5, 9), TestData.Cloud(4, 6, 9), new SinkhornOptions { EpsilonRelative = false, Backend = ComputeBackend.Auto });
        Assert.Equal("cpu", highDimension.Backend);
        Assert.Contains("d = 9", highDimension.BackendNote);
        using var onCpu = EntropicOT.Solve(TestData.Cloud(3, 5, 2), TestData.Cloud(4, 6, 2));
        Assert.Null(onCpu.BackendNote);
        var ex = Assert.Throws<NotSupportedException>(() => EntropicOT.SolveCost(cost, options: new SinkhornOptions { EpsilonRelative = false, Backend = ComputeBackend.Cuda }));
        Assert.Contains("cost matrix", ex.Message);
    }

    [Fact]
    public void ADisposedResultRefusesDerivatives()
    {
        var r = EntropicOT.Solve(TestData.Cloud(5, 6, 2), TestData.Cloud(6, 7, 2));
        var value = r.Value;
        r.Dispose();
        Assert.Equal(value, r.Value);
        Assert.Throws<ObjectDisposedException>(() => r.Gradient());
        Assert.Throws<ObjectDisposedException>(() => r.Plan());
        Assert.Throws<ObjectDisposedException>(() => r.HessianVectorProduct(new double[6, 2]));
        // The sharp value needs the plan: read first after Dispose it says so, in the façade's own words.
        var e = Assert.Throws<ObjectDisposedException>(() => r.SharpValue);
        Assert.Equal(nameof(SinkhornResult), e.ObjectName);
        using var kept = EntropicOT.Solve(TestData.Cloud(5, 6, 2), TestData.Cloud(6, 7, 2));
        var sharp = kept.SharpValue;
        kept.Dispose();
        Assert.Equal(sharp, kept.SharpValue);
    }

    [Fact]
    public void ANonFiniteCoordinateIsNamedByItsRowAndColumn()
    {
        var x = TestData.Cloud(5, 6, 2);
        x[4, 1] = double.NaN;
        var e = Assert.Throws<ArgumentException>(() => EntropicOT.Solve(x, TestData.Cloud(6, 7, 2)));
        Assert.Equal("x", e.ParamName);
        Assert.Contains("at [4, 1]", e.Message);
    }
}
