using Xunit;

namespace OtNative.Tests;

/// <summary>The defaults a new user gets: an ε that suits any scale, the fastest solver, and no silent non-convergence.</summary>
public class DefaultsTests
{
    [Fact]
    public void TheDefaultsAreARelativeEpsilonTheAutomaticSolverAndRequiredConvergence()
    {
        var d = SinkhornOptions.Default;
        Assert.Equal((0.05, true, SinkhornSolver.Auto, false, 1e-6), (d.Epsilon, d.EpsilonRelative, d.Solver, d.AllowUnconverged, d.Tolerance));
    }

    [Fact]
    public void CloudsAtAHundredTimesTheUnitScaleConvergeWithTheDefaults()
    {
        // Points in [0, 100]²: an absolute default ε of 0.05 left this unconverged after 10 000 iterations.
        var rng = new Random(3);
        var x = Datasets.UniformCube(rng, 300, 2);
        var y = Datasets.UniformCube(rng, 280, 2);
        foreach (var cloud in new[] { x, y })
            for (int i = 0; i < cloud.GetLength(0); i++)
                for (int k = 0; k < 2; k++) cloud[i, k] *= 100;
        using var result = EntropicOT.Solve(x, y);
        Assert.True(result.Converged);
        Assert.True(result.MarginalError < 1e-6);
        // The ε used is 0.05 × the uniform weights' mean cost, exposed on the result.
        double mean = 0;
        for (int i = 0; i < 300; i++)
            for (int j = 0; j < 280; j++)
                mean += (Math.Pow(x[i, 0] - y[j, 0], 2) + Math.Pow(x[i, 1] - y[j, 1], 2)) / (300.0 * 280.0);
        Assert.Equal(0.05 * mean, result.Epsilon, 1e-9 * mean);
        // The same problem scaled down by 100 has the same relative ε and the value scaled by 100².
        var xs = (double[,])x.Clone();
        var ys = (double[,])y.Clone();
        foreach (var cloud in new[] { xs, ys })
            for (int i = 0; i < cloud.GetLength(0); i++)
                for (int k = 0; k < 2; k++) cloud[i, k] /= 100;
        using var small = EntropicOT.Solve(xs, ys, new SinkhornOptions { Tolerance = 1e-10 });
        using var large = EntropicOT.Solve(x, y, new SinkhornOptions { Tolerance = 1e-10 });
        Assert.Equal(large.Value / 1e4, small.Value, 1e-9 * Math.Abs(small.Value));
    }

    [Fact]
    public void AnUnconvergedSolveThrowsWithItsNumbersUnlessAllowed()
    {
        var x = TestData.Cloud(1, 40, 2);
        var y = TestData.Cloud(2, 40, 2, 0.5);
        var capped = new SinkhornOptions { Solver = SinkhornSolver.Sinkhorn, Epsilon = 0.005, MaxIterations = 5, Tolerance = 1e-9 };
        var e = Assert.Throws<SinkhornConvergenceException>(() => EntropicOT.Solve(x, y, capped));
        Assert.IsAssignableFrom<ConvergenceException>(e);
        Assert.Equal(5, e.Iterations);
        Assert.Equal(1e-9, e.Tolerance);
        Assert.True(e.MarginalError > 1e-9);
        Assert.Contains("AllowUnconverged", e.Message);
        Assert.Contains("MaxIterations", e.Message);
        using var allowed = EntropicOT.Solve(x, y, capped with { AllowUnconverged = true });
        Assert.False(allowed.Converged);
        Assert.Equal(e.MarginalError, allowed.MarginalError, 1e-12);
        Assert.Equal(e.Epsilon, allowed.Epsilon, 1e-15);
        // In a batch it is that problem's outcome; the others are solved.
        var outcomes = EntropicOT.TrySolveBatch([new BatchProblem(x, y), new BatchProblem(x, x)], capped with { Epsilon = 0.5, MaxIterations = 2000 });
        Assert.True(outcomes[1].Succeeded, outcomes[1].Error?.Message);
        Assert.True(outcomes[0].Succeeded || outcomes[0].Error is SinkhornConvergenceException, outcomes[0].Error?.Message);
        var hard = EntropicOT.TrySolveBatch([new BatchProblem(x, y)], capped);
        Assert.IsType<SinkhornConvergenceException>(hard[0].Error);
    }
}
