using Xunit;

namespace OtNative.Tests;

/// <summary>
/// The Euclidean, ‖x − y‖ᵖ and user-defined ground costs: values against the cost-matrix path and POT at every vector width,
/// every derivative against finite differences, and a user's squared Euclidean cost against the built-in fast path.
/// </summary>
public class DistanceCostTests
{
    private static SinkhornOptions Options(GroundCost cost) => new()
    {
        Epsilon = 0.1, EpsilonRelative = false, Tolerance = 1e-12, MaxIterations = 200_000, Cost = cost,
    };

    /// <summary>c(x, y) for the cost's family, computed here from its definition.</summary>
    private static double[,] CostMatrix(double[,] x, double[,] y, Func<double, double> ofSquaredDistance)
    {
        int n = x.GetLength(0), m = y.GetLength(0), d = x.GetLength(1);
        var c = new double[n, m];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < m; j++)
            {
                double s = 0;
                for (int k = 0; k < d; k++) s += (x[i, k] - y[j, k]) * (x[i, k] - y[j, k]);
                c[i, j] = ofSquaredDistance(s);
            }
        return c;
    }

    private static readonly CpuVectorWidth[] EveryWidth = [CpuVectorWidth.Scalar, CpuVectorWidth.Bits128, CpuVectorWidth.Bits256, CpuVectorWidth.Bits512];

    /// <summary>The solve under <paramref name="cost"/> at each width is the solve of its cost matrix <paramref name="costs"/>.</summary>
    private static void AssertSolvesAsItsCostMatrix(double[,] x, double[,] y, GroundCost cost, double[,] costs, params CpuVectorWidth[] widths)
    {
        using var matrix = EntropicOT.SolveCost(costs, Options(GroundCost.SquaredEuclidean));
        foreach (var width in widths.Length == 0 ? [CpuVectorWidth.Auto] : widths)
        {
            using var points = EntropicOT.Solve(x, y, Options(cost) with { VectorWidth = width });
            Assert.Equal(matrix.Value, points.Value, 1e-10);
            Assert.Equal(matrix.SharpValue, points.SharpValue, 1e-10);
            Assert.True(TestData.MaxRelativeError(points.F, matrix.F) < 1e-9, $"{cost}, n = {x.GetLength(0)}, d = {x.GetLength(1)}, {width}: f {TestData.MaxRelativeError(points.F, matrix.F)}");
        }
    }

    public static TheoryData<double> Exponents => new() { 1.0, 1.5, 3.0 };

    /// <summary>
    /// c(x, y) = ‖x − y‖² + sin(x₀) y₁: neither symmetric nor translation-invariant, with a Hessian that is not a
    /// multiple of the identity — what no built-in cost exercises.
    /// </summary>
    private sealed class Skewed : ICostFunction
    {
        public double Value(ReadOnlySpan<double> x, ReadOnlySpan<double> y)
        {
            double s = 0;
            for (int k = 0; k < x.Length; k++) s += (x[k] - y[k]) * (x[k] - y[k]);
            return s + Math.Sin(x[0]) * y[1];
        }
        public void Gradient(ReadOnlySpan<double> x, ReadOnlySpan<double> y, Span<double> gradient)
        {
            for (int k = 0; k < x.Length; k++) gradient[k] = 2 * (x[k] - y[k]);
            gradient[0] += Math.Cos(x[0]) * y[1];
        }
        // Writes the diagonal only: the buffer arrives zeroed (ICostFunction.Hessian), not holding the last pair's values.
        public void Hessian(ReadOnlySpan<double> x, ReadOnlySpan<double> y, Span<double> hessian)
        {
            for (int k = 0; k < x.Length; k++) hessian[k * x.Length + k] = 2;
            hessian[0] -= Math.Sin(x[0]) * y[1];
        }
    }

    /// <summary>√(‖x − y‖² + 1) − x·y/10: symmetric but not a function of x − y.</summary>
    private sealed class SymmetricOnly : ICostFunction
    {
        public bool IsSymmetric => true;
        public double Value(ReadOnlySpan<double> x, ReadOnlySpan<double> y)
        {
            double s = 1, dot = 0;
            for (int k = 0; k < x.Length; k++) { s += (x[k] - y[k]) * (x[k] - y[k]); dot += x[k] * y[k]; }
            return Math.Sqrt(s) - 0.1 * dot;
        }
        public void Gradient(ReadOnlySpan<double> x, ReadOnlySpan<double> y, Span<double> gradient)
        {
            double r = Value(x, y);
            double dot = 0;
            for (int k = 0; k < x.Length; k++) dot += x[k] * y[k];
            double root = r + 0.1 * dot;
            for (int k = 0; k < x.Length; k++) gradient[k] = (x[k] - y[k]) / root - 0.1 * y[k];
        }
        public void Hessian(ReadOnlySpan<double> x, ReadOnlySpan<double> y, Span<double> hessian)
        {
            int d = x.Length;
            double dot = 0;
            for (int k = 0; k < d; k++) dot += x[k] * y[k];
            double root = Value(x, y) + 0.1 * dot;
            for (int a = 0; a < d; a++)
                for (int b = 0; b < d; b++)
                    hessian[a * d + b] = ((a == b ? 1 : 0) - (x[a] - y[a]) * (x[b] - y[b]) / (root * root)) / root;
        }
    }

    [Theory]
    [MemberData(nameof(Exponents))]
    public void TheDistancePowerSolveIsTheCostMatrixSolveAtEveryWidth(double p)
    {
        var cost = GroundCost.PNorm(p);
        // 12 × 10 pairs are tabulated; 190 × 180 stream the SIMD square root or power through every kernel.
        foreach (var (n, m) in new[] { (12, 10), (190, 180) })
        {
            var x = TestData.Cloud(1, n, 3);
            var y = TestData.Cloud(2, m, 3, 0.4);
            var costs = CostMatrix(x, y, s => Math.Pow(s, p / 2));
            AssertSolvesAsItsCostMatrix(x, y, cost, costs, EveryWidth);
            // ε relative to the mean cost is the cost's own.
            using var relative = EntropicOT.Solve(x, y, Options(cost) with { Epsilon = 0.05, EpsilonRelative = true });
            Assert.Equal(0.05 * costs.Cast<double>().Average(), relative.Epsilon, 12);
        }
        Assert.Equal(p == 1 ? "euclidean" : $"pnorm:{p}", cost.ToString());
        Assert.Equal(p, cost.Exponent);
    }

    [Fact]
    public void StreamedUserCostsAreTheirCostMatricesAtEveryWidth()
    {
        // 190 × 180 pairs: the rows are filled by the cost (its Row for x against y; for y against x its Row again when it
        // is symmetric, its Value pair by pair when it is not), not tabulated.
        var x = TestData.Cloud(51, 190, 2);
        var y = TestData.Cloud(52, 180, 2, 0.3);
        foreach (ICostFunction user in new ICostFunction[] { new Skewed(), new UserSquaredEuclidean() })
        {
            var costs = new double[190, 180];
            for (int i = 0; i < 190; i++)
                for (int j = 0; j < 180; j++) costs[i, j] = user.Value(new[] { x[i, 0], x[i, 1] }, new[] { y[j, 0], y[j, 1] });
            AssertSolvesAsItsCostMatrix(x, y, GroundCost.Custom(user), costs, EveryWidth);
        }
    }

    [Fact]
    public void MixedPrecisionUnderTheSimdCostsReachesTheFloat64Answer()
    {
        // float32 exponentials pay from min(n, m) = 256 on: below that a mixed solve runs float64.
        var x = TestData.Cloud(53, 300, 2);
        var y = TestData.Cloud(54, 260, 2, 0.3);
        foreach (var cost in new[] { GroundCost.Euclidean, GroundCost.PNorm(1.5) })
        {
            var options = Options(cost) with { Tolerance = 1e-9, Solver = SinkhornSolver.Sinkhorn };
            using var exact = EntropicOT.Solve(x, y, options);
            foreach (var width in EveryWidth)
            {
                using var mixed = EntropicOT.Solve(x, y, options with { Precision = SinkhornPrecision.Mixed, VectorWidth = width });
                Assert.True(mixed.MixedIterations > 0, $"{cost}, {width}: no float32 iteration");
                Assert.Equal(exact.Value, mixed.Value, 1e-8);
            }
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(5)]
    public void StreamedCostsAreTheirCostMatricesInEveryDimension(int d)
    {
        // The point rows of d = 1, 2, 3 and any d under the square root, the power and a user's filled rows.
        var x = TestData.Cloud(55, 190, d);
        var y = TestData.Cloud(56, 180, d, 0.2);
        foreach (var (cost, of) in new (GroundCost, Func<double, double>)[]
                 { (GroundCost.Euclidean, Math.Sqrt), (GroundCost.PNorm(3), s => Math.Pow(s, 1.5)), (GroundCost.Custom(new UserSquaredEuclidean()), s => s) })
        {
            AssertSolvesAsItsCostMatrix(x, y, cost, CostMatrix(x, y, of));
        }
    }

    [Fact]
    public void StreamedDerivativesAgreeWithTheFastPathAndTheDenseHessian()
    {
        // 190 × 180 pairs: the CG's coupled passes, the plan and the applications all stream the cost's rows.
        var x = TestData.Cloud(57, 190, 2);
        var y = TestData.Cloud(58, 180, 2, 0.3);
        var direction = TestData.Cloud(59, 190, 2);
        var cg = new CgOptions { Tolerance = 1e-12 };
        using var general = EntropicOT.Solve(x, y, Options(GroundCost.Custom(new UserSquaredEuclidean())));
        using var builtIn = EntropicOT.Solve(x, y, Options(GroundCost.SquaredEuclidean));
        Assert.True(TestData.MaxRelativeError(general.Gradient(), builtIn.Gradient()) < 1e-10);
        Assert.True(TestData.MaxRelativeError(general.SharpGradient(), builtIn.SharpGradient()) < 1e-8);
        Assert.True(TestData.MaxRelativeError(general.HessianOperator(cg).Apply(direction).Value, builtIn.HessianOperator(cg).Apply(direction).Value) < 1e-8);
        using var power = EntropicOT.Solve(x, y, Options(GroundCost.PNorm(1.5)));
        var hessian = power.Hessian(HessianMethod.Schur).Matrix;
        var dense = new double[190, 2];
        for (int u = 0; u < 380; u++)
            for (int t = 0; t < 380; t++) dense[u / 2, u % 2] += hessian[u, t] * direction[t / 2, t % 2];
        Assert.True(TestData.MaxRelativeError(power.HessianOperator(cg).Apply(direction).Value, dense) < 1e-8);
    }

    [Fact]
    public void TheOtherSolversAndEntryPointsTakeTheCost()
    {
        var x = TestData.Cloud(61, 12, 2);
        var y = TestData.Cloud(62, 10, 2, 0.5);
        var options = Options(GroundCost.Euclidean);
        using var sinkhorn = EntropicOT.Solve(x, y, options with { Solver = SinkhornSolver.Sinkhorn });
        using var lbfgs = EntropicOT.Solve(x, y, options with { Solver = SinkhornSolver.Lbfgs });
        using var annealed = EntropicOT.Solve(x, y, options with { Solver = SinkhornSolver.Sinkhorn, Anneal = true });
        Assert.Equal(sinkhorn.Value, lbfgs.Value, 1e-10);
        Assert.Equal(sinkhorn.Value, annealed.Value, 1e-10);
        var item = EntropicOT.SolveBatch([(x, y)], options with { Backend = ComputeBackend.Auto })[0];
        Assert.Equal(sinkhorn.Value, item.Value, 1e-10);
        Assert.True(TestData.MaxRelativeError(item.Gradient!, sinkhorn.Gradient()) < 1e-8);
        using var self = EntropicOT.SolveSelf(x, options: options);
        using var both = EntropicOT.Solve(x, x, options);
        Assert.Equal(both.Value, self.Value, 1e-10);
        // A null cost is the default one.
        using var nullCost = EntropicOT.Solve(x, y, Options(GroundCost.SquaredEuclidean) with { Cost = null! });
        using var squared = EntropicOT.Solve(x, y, Options(GroundCost.SquaredEuclidean));
        Assert.Equal(squared.Value, nullCost.Value, 14);
    }

    /// <summary>Gradient, dense Hessian (both paths), HVP, parameter Hessian and sharp gradient against finite differences.</summary>
    private static void AssertDerivatives(GroundCost cost, double[,] x, double[,] y, double tolerance, double tau = double.PositiveInfinity)
    {
        int n = x.GetLength(0), d = x.GetLength(1), nd = n * d;
        var options = Options(cost) with { TauA = tau, TauB = tau };
        using var result = EntropicOT.Solve(x, y, options);
        var gradient = result.Gradient();
        var fd = TestData.SolveDifferences(x, y, options, result.F, 1e-6, r => r.Value);
        Assert.True(TestData.MaxRelativeError(gradient, fd) < tolerance, $"{cost}: gradient {TestData.MaxRelativeError(gradient, fd)}");
        var buffer = new double[nd];
        result.Gradient(buffer);
        for (int t = 0; t < nd; t++) Assert.Equal(gradient[t / d, t % d], buffer[t], 14);
        var sharpFd = TestData.SolveDifferences(x, y, options, result.F, 1e-6, r => r.SharpValue);
        var sharp = result.SharpGradient();
        Assert.True(TestData.MaxRelativeError(sharp, sharpFd) < tolerance, $"{cost}: sharp gradient {TestData.MaxRelativeError(sharp, sharpFd)}");
        var eigenResult = result.Hessian(HessianMethod.Eigen);
        // The row-sum identity (eq. 59) is the quadratic cost's: the measure is not given for this one.
        Assert.True(double.IsNaN(eigenResult.RowSumError));
        var eigen = eigenResult.Matrix;
        var schur = result.Hessian(HessianMethod.Schur).Matrix;
        Assert.True(TestData.MaxRelativeError(schur, eigen) < 1e-9, $"{cost}: Schur against eigen {TestData.MaxRelativeError(schur, eigen)}");
        var expected = TestData.SolveHessianDifferences(x, y, options, result.F, 1e-5);
        Assert.True(TestData.MaxRelativeError(eigen, expected) < 10 * tolerance, $"{cost}: Hessian {TestData.MaxRelativeError(eigen, expected)}");
        var direction = TestData.Cloud(5, n, d);
        var hvp = result.HessianOperator(new CgOptions { Tolerance = 1e-12 }).Apply(direction).Value;
        var dense = new double[n, d];
        for (int u = 0; u < nd; u++)
            for (int t = 0; t < nd; t++) dense[u / d, u % d] += eigen[u, t] * direction[t / d, t % d];
        Assert.True(TestData.MaxRelativeError(hvp, dense) < 1e-8, $"{cost}: HVP {TestData.MaxRelativeError(hvp, dense)}");
        var identity = new double[n, n];
        for (int i = 0; i < n; i++) identity[i, i] = 1;
        Assert.True(TestData.MaxRelativeError(result.ParameterHessian(identity).Matrix, eigen) < 1e-8, $"{cost}: parameter Hessian");
    }

    [Theory]
    [MemberData(nameof(Exponents))]
    public void DistancePowerDerivativesEqualFiniteDifferences(double p) =>
        AssertDerivatives(GroundCost.PNorm(p), TestData.Cloud(3, 6, 3), TestData.Cloud(4, 5, 3, 0.3), 1e-6);

    /// <summary>The README's example of a user cost, as it is printed there.</summary>
    private sealed class PseudoHuber(double delta) : ICostFunction
    {
        public string Name => $"pseudo-huber:{delta}";
        public bool IsSymmetric => true;              // c(x, y) = c(y, x)
        public bool IsTranslationInvariant => true;   // a function of x − y

        public double Value(ReadOnlySpan<double> x, ReadOnlySpan<double> y)
        {
            double s = delta * delta;
            for (int k = 0; k < x.Length; k++) s += (x[k] - y[k]) * (x[k] - y[k]);
            return Math.Sqrt(s);
        }

        public void Gradient(ReadOnlySpan<double> x, ReadOnlySpan<double> y, Span<double> gradient)
        {
            double c = Value(x, y);   // ∇ₓc = (x − y)/c
            for (int k = 0; k < x.Length; k++) gradient[k] = (x[k] - y[k]) / c;
        }

        public void Hessian(ReadOnlySpan<double> x, ReadOnlySpan<double> y, Span<double> hessian)
        {
            int d = x.Length;
            double c = Value(x, y);   // ∇²ₓc = (I − (x − y)(x − y)ᵀ/c²)/c
            for (int a = 0; a < d; a++)
                for (int b = 0; b < d; b++)
                    hessian[a * d + b] = ((a == b ? 1.0 : 0.0) - (x[a] - y[a]) * (x[b] - y[b]) / (c * c)) / c;
        }
    }

    [Fact]
    public void TheReadmesPseudoHuberCostHasFiniteDifferenceDerivativesAndADivergenceHessian()
    {
        var cost = GroundCost.Custom(new PseudoHuber(0.1));
        var x = TestData.Cloud(73, 5, 2);
        var y = TestData.Cloud(74, 6, 2, 0.4);
        AssertDerivatives(cost, x, y, 1e-6);
        var options = Options(cost);
        using var divergence = EntropicOT.SolveDivergence(x, y, options: options);
        var expected = TestData.GradientDifferences(x, 1e-5, moved =>
        {
            using var r = EntropicOT.SolveDivergence(moved, y, options: options);
            return r.Gradient();
        });
        Assert.True(TestData.MaxRelativeError(divergence.Hessian(), expected) < 1e-5, $"divergence Hessian {TestData.MaxRelativeError(divergence.Hessian(), expected)}");
        Assert.Equal("pseudo-huber:0.1", cost.ToString());
    }

    [Fact]
    public void UnbalancedTransportUnderTheEuclideanCostHasFiniteDifferenceDerivatives() =>
        AssertDerivatives(GroundCost.Euclidean, TestData.Cloud(15, 6, 2), TestData.Cloud(16, 5, 2, 0.8), 1e-6, tau: 0.5);

    [Fact]
    public void AUserCostsDerivativesEqualFiniteDifferences() =>
        AssertDerivatives(GroundCost.Custom(new Skewed()), TestData.Cloud(13, 6, 2), TestData.Cloud(14, 7, 2, 0.3), 1e-6);

    [Fact]
    public void AUsersSquaredEuclideanCostGivesWhatTheFastPathGives()
    {
        var x = TestData.Cloud(21, 9, 3);
        var y = TestData.Cloud(22, 8, 3, 0.5);
        var user = Options(GroundCost.Custom(new UserSquaredEuclidean()));
        var fast = Options(GroundCost.SquaredEuclidean);
        using var general = EntropicOT.Solve(x, y, user);
        using var builtIn = EntropicOT.Solve(x, y, fast);
        Assert.Equal(builtIn.Value, general.Value, 12);
        Assert.True(TestData.MaxRelativeError(general.Gradient(), builtIn.Gradient()) < 1e-11);
        Assert.True(TestData.MaxRelativeError(general.SharpGradient(), builtIn.SharpGradient()) < 1e-9);
        Assert.True(TestData.MaxRelativeError(general.Hessian(HessianMethod.Schur).Matrix, builtIn.Hessian(HessianMethod.Schur).Matrix) < 1e-10);
        var direction = TestData.Cloud(23, 9, 3);
        Assert.True(TestData.MaxRelativeError(general.HessianVectorProduct(direction), builtIn.HessianVectorProduct(direction)) < 1e-9);
        // The divergence: its value, gradient, HVP and dense Hessian (the self-terms' mixed derivatives included).
        using var divergence = EntropicOT.SolveDivergence(x, y, options: user);
        using var reference = EntropicOT.SolveDivergence(x, y, options: fast);
        Assert.Equal(reference.Value, divergence.Value, 12);
        Assert.True(TestData.MaxRelativeError(divergence.Gradient(), reference.Gradient()) < 1e-10);
        Assert.True(TestData.MaxRelativeError(divergence.HessianVectorProduct(direction).Value, reference.HessianVectorProduct(direction).Value) < 1e-8);
        Assert.True(TestData.MaxRelativeError(divergence.Hessian(), reference.Hessian()) < 1e-9);
        // A user's Row is what the streamed passes call; the default one loops over Value.
        var rows = new double[8];
        ((ICostFunction)new UserSquaredEuclidean()).Row(new double[] { x[0, 0], x[0, 1], x[0, 2] }, y.Cast<double>().ToArray(), rows);
        var costs = CostMatrix(x, y, s => s);
        for (int j = 0; j < 8; j++) Assert.Equal(costs[0, j], rows[j], 14);
    }

    [Fact]
    public void TheDivergenceUnderADistancePowerHasFiniteDifferenceDerivatives()
    {
        var x = TestData.Cloud(31, 5, 2);
        var y = TestData.Cloud(32, 6, 2, 0.4);
        var options = Options(GroundCost.PNorm(1.5));
        using var divergence = EntropicOT.SolveDivergence(x, y, options: options);
        var fd = TestData.CentralDifferences(x, 1e-6, (moved, _) => EntropicOT.Divergence(moved, y, options).Value);
        var gradient = divergence.Gradient();
        Assert.True(TestData.MaxRelativeError(gradient, fd) < 1e-6, $"divergence gradient {TestData.MaxRelativeError(gradient, fd)}");
        var hessian = divergence.Hessian();
        var expected = TestData.GradientDifferences(x, 1e-5, moved =>
        {
            using var r = EntropicOT.SolveDivergence(moved, y, options: options);
            return r.Gradient();
        });
        Assert.True(TestData.MaxRelativeError(hessian, expected) < 1e-5, $"divergence Hessian {TestData.MaxRelativeError(hessian, expected)}");
        var direction = TestData.Cloud(33, 5, 2);
        var dense = new double[5, 2];
        for (int u = 0; u < 10; u++)
            for (int t = 0; t < 10; t++) dense[u / 2, u % 2] += hessian[u, t] * direction[t / 2, t % 2];
        Assert.True(TestData.MaxRelativeError(divergence.HessianVectorProduct(direction, new CgOptions { Tolerance = 1e-12 }).Value, dense) < 1e-8);
    }

    [Fact]
    public void CoincidentPointsUnderTheEuclideanCostGiveFiniteDerivatives()
    {
        // A cloud against itself: every diagonal pair coincides, where ∇‖x − y‖ is taken as 0.
        var x = TestData.Cloud(41, 7, 2);
        var options = Options(GroundCost.Euclidean);
        using var result = EntropicOT.Solve(x, x, options);
        Assert.All(result.Gradient().Cast<double>(), v => Assert.True(double.IsFinite(v)));
        Assert.All(result.Hessian().Matrix.Cast<double>(), v => Assert.True(double.IsFinite(v)));
        using var divergence = EntropicOT.SolveDivergence(x, x, options: options);
        Assert.Equal(0, divergence.Value, 12);
        Assert.All(divergence.Gradient().Cast<double>(), v => Assert.Equal(0, v, 12));
    }

    private sealed class NotFinite : ICostFunction
    {
        public double Value(ReadOnlySpan<double> x, ReadOnlySpan<double> y) => x[0] > 0.5 ? double.NaN : 1;
        public void Gradient(ReadOnlySpan<double> x, ReadOnlySpan<double> y, Span<double> gradient) => gradient.Fill(double.PositiveInfinity);
        public void Hessian(ReadOnlySpan<double> x, ReadOnlySpan<double> y, Span<double> hessian) => hessian.Clear();
    }

    [Fact]
    public void BadExponentsUnsupportedRequestsAndNonFiniteUserCostsFailClearly()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => GroundCost.PNorm(0.5));
        Assert.Throws<ArgumentOutOfRangeException>(() => GroundCost.PNorm(double.NaN));
        Assert.Throws<ArgumentOutOfRangeException>(() => GroundCost.PNorm(double.PositiveInfinity));
        Assert.Same(GroundCost.SquaredEuclidean, GroundCost.PNorm(2));
        Assert.Same(GroundCost.Euclidean, GroundCost.PNorm(1));
        Assert.Throws<ArgumentNullException>(() => GroundCost.Custom(null!));
        var x = new double[,] { { 0.9, 0 }, { 0.1, 0.2 } };
        var y = new double[,] { { 0.3, 0.1 }, { 0.2, 0.7 } };
        var nan = Assert.Throws<ArgumentException>(() => EntropicOT.Solve(x, y, Options(GroundCost.Custom(new NotFinite()))));
        Assert.Contains("NotFinite", nan.Message);
        var okX = new double[,] { { 0.1, 0 }, { 0.2, 0.2 } };
        using var solved = EntropicOT.Solve(okX, y, Options(GroundCost.Custom(new NotFinite())));
        Assert.Contains("gradient", Assert.Throws<ArgumentException>(() => solved.Gradient()).Message);
        // The data-dependent initialisers are the squared Euclidean cost's; the divergence needs a symmetric cost.
        Assert.Throws<NotSupportedException>(() => EntropicOT.Solve(okX, y, Options(GroundCost.Euclidean) with { Initializer = SinkhornInitializer.Gaussian }));
        Assert.Throws<NotSupportedException>(() => EntropicOT.SolveDivergence(okX, y, options: Options(GroundCost.Custom(new Skewed()))));
        Assert.Throws<NotSupportedException>(() => EntropicOT.SolveSelf(okX, options: Options(GroundCost.Custom(new Skewed()))));
        // A symmetric cost that is not a function of x − y: the divergence's value and gradient, not its second derivatives.
        using var symmetric = EntropicOT.SolveDivergence(okX, y, options: Options(GroundCost.Custom(new SymmetricOnly())));
        Assert.True(double.IsFinite(symmetric.Value));
        Assert.Contains("translation-invariant", Assert.Throws<NotSupportedException>(() => symmetric.Hessian()).Message);
        Assert.Throws<NotSupportedException>(() => symmetric.HessianVectorProduct(okX));
        // Costs that leave float64.
        Assert.Equal("cost", Assert.Throws<ArgumentException>(() => EntropicOT.Solve(new double[,] { { 1e200 } }, new double[,] { { -1e200 } }, Options(GroundCost.PNorm(3)))).ParamName);
        Assert.Equal("Cost", Assert.Throws<ArgumentException>(() => EntropicOT.SolveCost(new double[,] { { 1 } }, Options(GroundCost.Euclidean))).ParamName);
    }

    [Fact]
    public void TheCudaBackendRefusesOtherCostsOnEveryMachine()
    {
        // The refusal comes before the device check: it holds with or without a GPU, and Auto then solves on the CPU.
        var x = TestData.Cloud(71, 5, 2);
        var problem = Core.OtProblemModule.withCost(new Core.DistancePower(1.0),
            Core.OtProblemModule.create(Core.Matrix.OfArray2D(x), Core.Matrix.OfArray2D(x), null, null));
        var support = ((Core.IBackend)Core.CudaBackend.Instance).Supports(problem);
        Assert.True(support.IsUnsupported);
        Assert.Contains("euclidean", ((Core.BackendSupport.Unsupported)support).reason);
        using var auto = EntropicOT.Solve(x, x, Options(GroundCost.Euclidean) with { Backend = ComputeBackend.Auto });
        Assert.Equal("cpu", auto.Backend);
    }

    [PotFact]
    public void DistancePowerPlansArePotsWithTheSameMetric()
    {
        var x = TestData.Cloud(8, 11, 3);
        var y = TestData.Cloud(9, 13, 3, 0.2);
        var dir = TestData.TempDirectory();
        NpyFile.Write(Path.Combine(dir, "x.npy"), x);
        NpyFile.Write(Path.Combine(dir, "y.npy"), y);
        // POT builds the cost matrix itself (ot.dist), so its Euclidean and Minkowski metrics are checked, not ours.
        UnbalancedFacadeTests.RunPython($$"""
            import numpy as np, ot
            x = np.load('{{dir}}/x.npy'); y = np.load('{{dir}}/y.npy')
            a = np.full(len(x), 1 / len(x)); b = np.full(len(y), 1 / len(y))
            for name, C in (('euclidean', ot.dist(x, y, metric='euclidean')), ('p3', ot.dist(x, y, metric='minkowski', p=2) ** 3)):
                np.save('{{dir}}/' + name + '.npy', ot.sinkhorn(a, b, C, 0.1, method='sinkhorn_log', numItermax=1000000, stopThr=1e-15))
            """);
        using var euclidean = EntropicOT.Solve(x, y, Options(GroundCost.Euclidean));
        using var cubic = EntropicOT.Solve(x, y, Options(GroundCost.PNorm(3)));
        Assert.True(TestData.MaxRelativeError(euclidean.Plan(), NpyFile.Read(Path.Combine(dir, "euclidean.npy")).ToMatrix()) < 1e-8);
        Assert.True(TestData.MaxRelativeError(cubic.Plan(), NpyFile.Read(Path.Combine(dir, "p3.npy")).ToMatrix()) < 1e-8);
    }
}
