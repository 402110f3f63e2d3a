using System.Globalization;
using Xunit;

namespace OtNative.Tests;

/// <summary>The Mahalanobis ground cost: values against the cost-matrix path and POT, derivatives against finite differences.</summary>
public class GroundCostTests
{
    private static readonly double[,] Metric = { { 2.0, 0.6, 0.1 }, { 0.6, 1.0, -0.3 }, { 0.1, -0.3, 0.5 } };

    private static SinkhornOptions Options(GroundCost cost) => new()
    {
        Epsilon = 0.1, EpsilonRelative = false, Tolerance = 1e-12, MaxIterations = 200_000, Cost = cost,
    };

    private static double[,] CostMatrix(double[,] x, double[,] y, double[,] m)
    {
        int n = x.GetLength(0), k = y.GetLength(0), d = x.GetLength(1);
        var c = new double[n, k];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < k; j++)
                for (int a = 0; a < d; a++)
                    for (int b = 0; b < d; b++) c[i, j] += (x[i, a] - y[j, a]) * m[a, b] * (x[i, b] - y[j, b]);
        return c;
    }

    [Fact]
    public void TheMahalanobisSolveIsTheCostMatrixSolve()
    {
        var x = TestData.Cloud(1, 12, 3);
        var y = TestData.Cloud(2, 10, 3, 0.4);
        var cost = GroundCost.Mahalanobis(Metric);
        using var points = EntropicOT.Solve(x, y, Options(cost));
        using var matrix = EntropicOT.SolveCost(CostMatrix(x, y, Metric), Options(GroundCost.SquaredEuclidean));
        Assert.Equal(matrix.Value, points.Value, 1e-10);
        Assert.Equal(matrix.SharpValue, points.SharpValue, 1e-10);
        Assert.True(TestData.MaxRelativeError(points.Plan(), matrix.Plan()) < 1e-9);
        // Relative ε is the Mahalanobis mean cost's.
        using var relative = EntropicOT.Solve(x, y, Options(cost) with { Epsilon = 0.05, EpsilonRelative = true });
        Assert.Equal(0.05 * CostMatrix(x, y, Metric).Cast<double>().Average(), relative.Epsilon, 12);
        Assert.Equal("mahalanobis", cost.ToString());
        Assert.Equal(Metric, cost.Metric);
    }

    [Fact]
    public void MahalanobisDerivativesEqualFiniteDifferencesAndEachOther()
    {
        var x = TestData.Cloud(3, 6, 3);
        var y = TestData.Cloud(4, 5, 3, 0.3);
        var options = Options(GroundCost.Mahalanobis(Metric));
        using var result = EntropicOT.Solve(x, y, options);
        var gradient = result.Gradient();
        var fd = TestData.SolveDifferences(x, y, options, result.F, 1e-6, r => r.Value);
        Assert.True(TestData.MaxRelativeError(gradient, fd) < 1e-6, $"gradient {TestData.MaxRelativeError(gradient, fd)}");
        // The Hessian's column for coordinate (k, a) is the finite difference of the gradient along it.
        var hessian = result.Hessian(HessianMethod.Schur).Matrix;
        var expected = TestData.SolveHessianDifferences(x, y, options, result.F, 1e-5);
        // Column by column: a wrong column of small norm would hide in the whole matrix's error.
        for (int t = 0; t < 18; t++)
        {
            var column = new double[18, 1];
            var differences = new double[18, 1];
            for (int u = 0; u < 18; u++) (column[u, 0], differences[u, 0]) = (hessian[u, t], expected[u, t]);
            Assert.True(TestData.MaxRelativeError(column, differences) < 1e-5, $"Hessian column {t}: {TestData.MaxRelativeError(column, differences)}");
        }
        // HVPs and the parameter Hessian in x's coordinates.
        var direction = TestData.Cloud(5, 6, 3);
        var hvp = result.HessianOperator(new CgOptions { Tolerance = 1e-12 }).Apply(direction).Value;
        var dense = new double[6, 3];
        for (int u = 0; u < 18; u++)
            for (int t = 0; t < 18; t++) dense[u / 3, u % 3] += hessian[u, t] * direction[t / 3, t % 3];
        Assert.True(TestData.MaxRelativeError(hvp, dense) < 1e-8, $"HVP {TestData.MaxRelativeError(hvp, dense)}");
        var identity = new double[6, 6];
        for (int i = 0; i < 6; i++) identity[i, i] = 1;
        var parameter = result.ParameterHessian(identity).Matrix;
        Assert.True(TestData.MaxRelativeError(parameter, hessian) < 1e-8, "x = I θ: the parameter Hessian is the Hessian");
        // The divergence's gradient; a batch item's gradient.
        using var divergence = EntropicOT.SolveDivergence(x, y, options: options);
        var dfd = TestData.CentralDifferences(x, 1e-6, (moved, _) => EntropicOT.Divergence(moved, y, options).Value);
        Assert.True(TestData.MaxRelativeError(divergence.Gradient(), dfd) < 1e-6, $"divergence {TestData.MaxRelativeError(divergence.Gradient(), dfd)}");
        var item = EntropicOT.SolveBatch([(x, y)], options)[0];
        Assert.True(TestData.MaxRelativeError(item.Gradient!, gradient) < 1e-9);
    }

    [Fact]
    public void ASingularMetricIgnoresItsNullDirectionsAndBadMetricsAreRefused()
    {
        var x = TestData.Cloud(6, 9, 2);
        var y = TestData.Cloud(7, 8, 2, 0.5);
        // M = diag(1, 0): only the first coordinate costs, as if the clouds were one-dimensional.
        using var singular = EntropicOT.Solve(x, y, Options(GroundCost.Mahalanobis(new double[,] { { 1, 0 }, { 0, 0 } })));
        double[,] First(double[,] p) { var q = new double[p.GetLength(0), 1]; for (int i = 0; i < q.GetLength(0); i++) q[i, 0] = p[i, 0]; return q; }
        using var line = EntropicOT.Solve(First(x), First(y), Options(GroundCost.SquaredEuclidean));
        Assert.Equal(line.Value, singular.Value, 12);
        var g = singular.Gradient();
        for (int i = 0; i < 9; i++) Assert.Equal(0, g[i, 1], 12);
        Assert.Equal("metric", Assert.Throws<ArgumentException>(() => GroundCost.Mahalanobis(new double[,] { { 1, 2 }, { 0, 1 } })).ParamName);
        Assert.Equal("metric", Assert.Throws<ArgumentException>(() => GroundCost.Mahalanobis(new double[,] { { 1, 0 }, { 0, -1 } })).ParamName);
        Assert.Equal("metric", Assert.Throws<ArgumentException>(() => GroundCost.Mahalanobis(new double[,] { { 1, 0, 0 } })).ParamName);
        Assert.Equal("metric", Assert.Throws<ArgumentException>(() => GroundCost.Mahalanobis(new double[,] { { double.NaN } })).ParamName);
        Assert.Equal("Cost", Assert.Throws<ArgumentException>(() => EntropicOT.Solve(x, y, Options(GroundCost.Mahalanobis(Metric)))).ParamName);
        Assert.Equal("Cost", Assert.Throws<ArgumentException>(() => EntropicOT.SolveCost(new double[,] { { 1 } }, Options(GroundCost.Mahalanobis(Metric)))).ParamName);
    }

    [PotFact]
    public void TheMahalanobisPlanIsPotsWithTheSameCostMatrix()
    {
        var x = TestData.Cloud(8, 11, 3);
        var y = TestData.Cloud(9, 13, 3, 0.2);
        using var ours = EntropicOT.Solve(x, y, Options(GroundCost.Mahalanobis(Metric)));
        var dir = TestData.TempDirectory();
        NpyFile.Write(Path.Combine(dir, "c.npy"), CostMatrix(x, y, Metric));
        // POT's entropy and our KL(P ‖ a⊗b) differ by a constant for balanced plans: the plans are the same.
        UnbalancedFacadeTests.RunPython($$"""
            import numpy as np, ot
            C = np.load('{{dir}}/c.npy')
            a = np.full(C.shape[0], 1 / C.shape[0]); b = np.full(C.shape[1], 1 / C.shape[1])
            np.save('{{dir}}/P.npy', ot.sinkhorn(a, b, C, 0.1, method='sinkhorn_log', numItermax=1000000, stopThr=1e-15))
            """);
        Assert.True(TestData.MaxRelativeError(ours.Plan(), NpyFile.Read(Path.Combine(dir, "P.npy")).ToMatrix()) < 1e-8);
    }
}
