using Xunit;

namespace OtNative.Tests;

/// <summary>
/// Ground costs given what a careless or unlucky caller gives them: a user's Row that skips entries, a slow cost under
/// cancellation, coordinates whose squared distances leave float64's normal range, costs so large that the derivatives'
/// intermediate products overflow. Each is refused clearly (or stops), never solved from garbage or returned as NaN.
/// </summary>
public class HostileCostTests
{
    private static SinkhornOptions Options(GroundCost cost) => new()
    {
        Epsilon = 0.1, EpsilonRelative = false, Tolerance = 1e-9, MaxIterations = 5_000, Cost = cost,
    };

    private static double[,] Scaled(double[,] a, double s)
    {
        var b = (double[,])a.Clone();
        for (int i = 0; i < b.GetLength(0); i++)
            for (int k = 0; k < b.GetLength(1); k++) b[i, k] *= s;
        return b;
    }

    /// <summary>‖x − y‖² whose Row writes only the first half of the targets' costs.</summary>
    private sealed class HalfRow : UserSquaredEuclidean, ICostFunction
    {
        public override string Name => nameof(HalfRow);
        public void Row(ReadOnlySpan<double> x, ReadOnlySpan<double> targets, Span<double> costs)
        {
            for (int j = 0; j < costs.Length / 2; j++) costs[j] = Value(x, targets.Slice(j * x.Length, x.Length));
        }
    }

    [Fact]
    public void ARowThatLeavesCostsUnwrittenIsRefusedNotSolvedFromAStaleBuffer()
    {
        // The rows are pooled buffers: the unwritten half held an earlier row's costs (8 × 7, a silently wrong value) or
        // whatever the pool's last user left (200 × 190: a solve that diverged to marginal errors of 1e36).
        foreach (var (n, m) in new[] { (8, 7), (200, 190) })
        {
            var x = TestData.Cloud(1, n, 2);
            var y = TestData.Cloud(2, m, 2, 0.3);
            var ex = Assert.Throws<ArgumentException>(() => EntropicOT.Solve(x, y, Options(GroundCost.Custom(new HalfRow()))));
            Assert.Equal("cost", ex.ParamName);
            Assert.Contains("NaN", ex.Message);
        }
    }

    /// <summary>‖x − y‖², a millisecond a pair.</summary>
    private sealed class Slow : ICostFunction
    {
        private int _calls;
        /// <summary>Pairs evaluated so far.</summary>
        public int Calls => Volatile.Read(ref _calls);
        public bool IsSymmetric => true;
        public double Value(ReadOnlySpan<double> x, ReadOnlySpan<double> y)
        {
            Interlocked.Increment(ref _calls);
            Thread.Sleep(1);
            double s = 0;
            for (int k = 0; k < x.Length; k++) s += (x[k] - y[k]) * (x[k] - y[k]);
            return s;
        }
        public void Gradient(ReadOnlySpan<double> x, ReadOnlySpan<double> y, Span<double> gradient) { }
        public void Hessian(ReadOnlySpan<double> x, ReadOnlySpan<double> y, Span<double> hessian) { }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void CancellationStopsTheCheckOfASlowCostsPairs(bool relative)
    {
        // 200 × 200 pairs (streamed, not tabulated): the check of every pair before the first half-step took 20 s on two
        // cores and ignored the token (a relative ε's mean cost, then the cost bound).
        var x = TestData.Cloud(1, 200, 2);
        var y = TestData.Cloud(2, 200, 2, 0.3);
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
        var slow = new Slow();
        Assert.ThrowsAny<OperationCanceledException>(() =>
            EntropicOT.Solve(x, y, Options(GroundCost.Custom(slow)) with { EpsilonRelative = relative }, cancel.Token));
        // Counted, not timed (a loaded machine stretches any clock): ignoring the token, the check evaluates all 40 000
        // pairs (20 s at a millisecond each on two threads) before the first half-step looks at it.
        Assert.True(slow.Calls < 200 * 200, $"cancelled after {slow.Calls} of {200 * 200} pairs");
    }

    [Theory]
    [InlineData(1.0)]
    [InlineData(1.5)]
    public void DistancePowersOfSubnormalSquaredDistancesAreRefused(double p)
    {
        var x = TestData.Cloud(1, 6, 2);
        var y = TestData.Cloud(2, 5, 2, 0.3);
        var options = Options(GroundCost.PNorm(p)) with { EpsilonRelative = true };
        using var unit = EntropicOT.Solve(x, y, options);
        // At 1e-150 the squared distances are normal numbers: the value is the unit one scaled, to rounding.
        using (var small = EntropicOT.Solve(Scaled(x, 1e-150), Scaled(y, 1e-150), options))
            Assert.Equal(unit.Value, small.Value / Math.Pow(1e-150, p), 12);
        // At 1e-160 they are subnormal (1e-320, three digits): the value came back 5e-5 off, unannounced.
        var ex = Assert.Throws<ArgumentException>(() => EntropicOT.Solve(Scaled(x, 1e-160), Scaled(y, 1e-160), options));
        Assert.Equal("cost", ex.ParamName);
        Assert.Contains("Scale the coordinates up", ex.Message);
        Assert.Throws<ArgumentException>(() => EntropicOT.Solve(Scaled(x, 1e-160), Scaled(y, 1e-160), options with { EpsilonRelative = false, Epsilon = 1e-161 }));
    }

    public static TheoryData<GroundCost, double> LargeCosts => new()
    {
        // Costs of 1e250 (‖x − y‖^2.5 at coordinates of 1e100) and 1e280 (‖x − y‖² at 1e140), both accepted by the solve.
        { GroundCost.PNorm(2.5), 1e100 },
        { GroundCost.SquaredEuclidean, 1e140 },
    };

    [Theory]
    [MemberData(nameof(LargeCosts))]
    public void DerivativesWhoseProductsOverflowAreRefusedNotReturnedAsNaN(GroundCost cost, double scale)
    {
        var x = Scaled(TestData.Cloud(1, 6, 2), scale);
        var y = Scaled(TestData.Cloud(2, 5, 2, 0.3), scale);
        using var solved = EntropicOT.Solve(x, y, Options(cost) with { EpsilonRelative = true });
        Assert.All(solved.Gradient().Cast<double>(), v => Assert.True(double.IsFinite(v)));
        // w_f G and Σ P C ∇c multiply a cost by a cost gradient before dividing by ε; R A a gradient by the direction.
        Assert.Contains("Scale the coordinates", Assert.Throws<NumericalFailureException>(() => solved.SharpGradient()).Message);
        Assert.Throws<NumericalFailureException>(() => solved.HessianVectorProduct(x));
    }
}
