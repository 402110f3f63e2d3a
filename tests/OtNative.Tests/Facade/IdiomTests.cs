using System.Diagnostics;
using Xunit;

namespace OtNative.Tests;

/// <summary>The façade behaves as a .NET library should: overloads, cancellation, disposal, batch errors and progress.</summary>
public class IdiomTests
{
    private static readonly SinkhornOptions Tight = new() { Epsilon = 0.2, EpsilonRelative = true, Tolerance = 1e-11 };

    [Fact]
    public void OptionsGoStraightAfterTheCloudsOrTheCost()
    {
        var x = TestData.Cloud(1, 12, 2);
        var y = TestData.Cloud(2, 9, 2, 0.5);
        var withWeights = EntropicOT.Divergence(x, y, null, null, Tight);
        var withoutWeights = EntropicOT.Divergence(x, y, Tight);
        Assert.Equal(withWeights.Value, withoutWeights.Value, 14);
        using var points = EntropicOT.Solve(x, y, Tight);
        var cost = new double[12, 9];
        for (int i = 0; i < 12; i++)
            for (int j = 0; j < 9; j++)
                cost[i, j] = Math.Pow(x[i, 0] - y[j, 0], 2) + Math.Pow(x[i, 1] - y[j, 1], 2);
        using var fromCost = EntropicOT.SolveCost(cost, Tight with { EpsilonRelative = false, Epsilon = points.Epsilon });
        Assert.Equal(points.Value, fromCost.Value, 10);
    }

    [Fact]
    public void SpansAndMathNetMatricesGiveTheSameSolveAsArrays()
    {
        var x = TestData.Cloud(3, 10, 3);
        var y = TestData.Cloud(4, 8, 3);
        using var arrays = EntropicOT.Solve(x, y, Tight);
        using var spans = EntropicOT.Solve(x.Cast<double>().ToArray(), y.Cast<double>().ToArray(), 3, Tight);
        using var mathNet = EntropicOT.Solve(MathNet.Numerics.LinearAlgebra.Matrix<double>.Build.DenseOfArray(x),
            MathNet.Numerics.LinearAlgebra.Matrix<double>.Build.DenseOfArray(y), Tight);
        Assert.Equal(arrays.Value, spans.Value);
        Assert.Equal(arrays.Value, mathNet.Value);
        var ex = Assert.Throws<ArgumentException>(() => EntropicOT.Solve(new double[7], new double[6], 3, Tight));
        Assert.Equal("x", ex.ParamName);
    }

    [Fact]
    public void APotentialIsCopiedOnceAndCannotBeChangedThroughTheResult()
    {
        using var r = EntropicOT.Solve(TestData.Cloud(5, 6, 2), TestData.Cloud(6, 5, 2), Tight);
        Assert.Same(r.F, r.F);
        Assert.Throws<NotSupportedException>(() => ((IList<double>)r.F)[0] = 1.0);
        using var warm = EntropicOT.Solve(TestData.Cloud(5, 6, 2), TestData.Cloud(6, 5, 2), Tight with { InitialF = r.F });
        Assert.True(warm.Iterations <= 2);
    }

    [Fact]
    public void ALongSolveStopsWithin100MillisecondsOfCancellation()
    {
        var x = TestData.Cloud(7, 2000, 2);
        var y = TestData.Cloud(8, 2000, 2);
        using var source = new CancellationTokenSource();
        using var underWay = new ManualResetEventSlim();
        var cancelledAt = new Stopwatch();
        // The canceller is a thread of its own, as a UI or a request handler would be: the solve's workers occupy the pool.
        var canceller = new Thread(() => { underWay.Wait(); cancelledAt.Start(); source.Cancel(); });
        canceller.Start();
        var options = new SinkhornOptions
        {
            Epsilon = 0.01, EpsilonRelative = true, Tolerance = 1e-300, MaxIterations = 1_000_000, ProgressInterval = 1,
            Progress = new SynchronousProgress<SinkhornProgress>(p => { if (p.Iteration == 5) underWay.Set(); }),
        };
        Assert.ThrowsAny<OperationCanceledException>(() => EntropicOT.Solve(x, y, options, source.Token));
        var latency = cancelledAt.Elapsed;
        canceller.Join();
        Assert.True(latency < TimeSpan.FromMilliseconds(100), $"the solve stopped {latency.TotalMilliseconds:F0} ms after cancellation");
    }

    [Fact]
    public void EveryLongOperationHonoursAnAlreadyCancelledToken()
    {
        var cancelled = new CancellationToken(canceled: true);
        var x = TestData.Cloud(9, 15, 2);
        var y = TestData.Cloud(10, 12, 2);
        using var r = EntropicOT.Solve(x, y, Tight);
        Assert.ThrowsAny<OperationCanceledException>(() => EntropicOT.Solve(x, y, Tight, cancelled));
        Assert.ThrowsAny<OperationCanceledException>(() => r.Hessian(HessianMethod.Schur, cancellationToken: cancelled));
        Assert.ThrowsAny<OperationCanceledException>(() => r.HessianVectorProduct(x, cancelled));
        Assert.ThrowsAny<OperationCanceledException>(() => r.SharpGradient(cancelled));
        Assert.ThrowsAny<OperationCanceledException>(() => EntropicOT.SolveBatch([(x, y), (y, x)], Tight, cancellationToken: cancelled));
        Assert.ThrowsAny<OperationCanceledException>(() => EntropicOT.Divergence(x, y, Tight, cancelled));
        var design = TestData.Cloud(11, 40, 2);
        var targets = TestData.Cloud(12, 40, 2);
        Assert.ThrowsAny<OperationCanceledException>(() =>
            ShuffledRegression.Compare(design, targets, new double[,] { { 1, 0 }, { 0, 1 } }, options: new RegressionOptions { BatchSize = 20 }, cancellationToken: cancelled));
        // Cancellation leaves the result usable: nothing was half-written.
        Assert.Equal(r.Value, EntropicOT.Solve(x, y, Tight).Value);
        Assert.Equal(2, r.Gradient().GetLength(1));
    }

    [Fact]
    public void BatchErrorsNameTheProblemAndProgressCarriesItsIndex()
    {
        var good = TestData.Cloud(13, 10, 2);
        var bad = (double[,])good.Clone();
        bad[3, 1] = double.NaN;
        var invalid = Assert.Throws<ArgumentException>(() => EntropicOT.SolveBatch([(good, good), (good, bad)], Tight));
        Assert.Equal("problems[1].Y", invalid.ParamName);

        // Every cost of the third problem overflows to ∞: its potentials cannot stay finite; the others still finish.
        var origin = new double[2, 2];
        var far = new double[,] { { 1e200, 0 }, { -1e200, 0 } };
        var failed = Assert.Throws<BatchProblemException>(() =>
            EntropicOT.SolveBatch([(good, good), (good, good), (origin, far)], new SinkhornOptions { EpsilonRelative = false, Epsilon = 0.5 }));
        Assert.Equal(2, failed.ProblemIndex);
        Assert.Contains("problem 2", failed.Message);
        Assert.IsAssignableFrom<OtNativeException>(failed.InnerException);

        var seen = new System.Collections.Concurrent.ConcurrentBag<int?>();
        var items = EntropicOT.SolveBatch([(good, good), (good, TestData.Cloud(14, 7, 2)), (TestData.Cloud(15, 5, 2), good)],
            Tight with { ProgressInterval = 1, Progress = new SynchronousProgress<SinkhornProgress>(p => seen.Add(p.ProblemIndex)) });
        Assert.Equal([0, 1, 2], seen.Select(i => i!.Value).Distinct().Order());
        Assert.Equal([0, 1, 2], items.Select(i => i.Index));
        Assert.All(items, i => Assert.NotNull(i.Gradient));
        Assert.All(items, i => Assert.Null(i.Hessian));
    }

    [Fact]
    public void CgResultsCarryTheirReportAndAnUnconvergedOneFailsUnlessAllowed()
    {
        var x = TestData.Cloud(16, 14, 2);
        var y = TestData.Cloud(17, 11, 2, 0.4);
        using var r = EntropicOT.Solve(x, y, Tight);
        var capped = new CgOptions { MaxIterations = 1 };
        var ex = Assert.Throws<CgConvergenceException>(() => r.HessianOperator(capped).Apply(x));
        Assert.Equal(1, ex.Iterations);
        Assert.True(ex.Residual > capped.Tolerance);
        Assert.Throws<CgConvergenceException>(() => r.HessianOperator(capped).SharpGradient());
        var allowed = r.HessianOperator(capped with { AllowUnconverged = true }).Apply(x);
        Assert.False(allowed.Cg.Converged);
        Assert.Equal(1, allowed.Cg.Iterations);
        var full = r.HessianOperator().Apply(x);
        Assert.True(full.Cg.Converged);
        Assert.True(full.Cg.Residual <= CgOptions.Default.Tolerance);

        var batch = Assert.Throws<BatchProblemException>(() => EntropicOT.SolveBatch([(x, y), (y, x)], Tight, hvpDirections: [x, y], cg: capped));
        Assert.Equal(0, batch.ProblemIndex);
        Assert.IsType<CgConvergenceException>(batch.InnerException);
        var items = EntropicOT.SolveBatch([(x, y), (y, x)], Tight, hvpDirections: [x, y]);
        Assert.All(items, i => Assert.True(i.HessianVectorProductCg!.Converged));
    }

    [Fact]
    public void TheDivergenceGradientEqualsFiniteDifferencesOfTheDivergence()
    {
        var x = TestData.Cloud(18, 7, 2);
        var y = TestData.Cloud(19, 6, 2, 0.6);
        var options = new SinkhornOptions { EpsilonRelative = false, Epsilon = 0.3, Tolerance = 1e-13, MaxIterations = 200_000 };
        var gradient = EntropicOT.DivergenceGradient(x, y, options);
        var fd = TestData.CentralDifferences(x, 1e-5, (moved, _) => EntropicOT.Divergence(moved, y, options).Value);
        Assert.True(TestData.MaxRelativeError(gradient, fd) < 1e-6, $"error {TestData.MaxRelativeError(gradient, fd)}");
        // At y = x the divergence is minimal: its gradient vanishes.
        Assert.True(EntropicOT.DivergenceGradient(x, x, options).Cast<double>().All(v => Math.Abs(v) < 1e-9));
    }
}
