using MathNet.Numerics.LinearAlgebra;
using Xunit;

namespace OtNative.Tests;

/// <summary>
/// The Math.NET, span and destination-span overloads give the numbers of their <c>double[,]</c> twins, bit for bit where
/// the same computation runs, and refuse a wrong length or shape naming the parameter.
/// </summary>
public class OverloadTests
{
    private static readonly SinkhornOptions Tight = new() { Epsilon = 0.2, EpsilonRelative = true, Tolerance = 1e-11 };

    private static readonly double[,] X = TestData.Cloud(31, 9, 2);
    private static readonly double[,] Y = TestData.Cloud(32, 7, 2, 0.4);
    private static readonly double[] A = Weights(33, 9);
    private static readonly double[] B = Weights(34, 7);
    private static readonly double[,] Direction = TestData.Cloud(35, 9, 2);

    private static double[] Weights(int seed, int n)
    {
        var rng = new Random(seed);
        var w = Enumerable.Range(0, n).Select(_ => 0.5 + rng.NextDouble()).ToArray();
        var total = w.Sum();
        return w.Select(v => v / total).ToArray();
    }

    private static double[] Flat(double[,] m) => m.Cast<double>().ToArray();
    private static Matrix<double> M(double[,] m) => Matrix<double>.Build.DenseOfArray(m);
    private static Vector<double> V(double[] v) => Vector<double>.Build.DenseOfArray(v);

    private static void SameBits(double[,] expected, double[,] actual)
    {
        Assert.Equal(expected.GetLength(0), actual.GetLength(0));
        Assert.Equal(expected.GetLength(1), actual.GetLength(1));
        Assert.Equal(Flat(expected).Select(BitConverter.DoubleToInt64Bits), Flat(actual).Select(BitConverter.DoubleToInt64Bits));
    }

    private static void SameBits(double[,] expected, Matrix<double> actual) => SameBits(expected, actual.ToArray());

    private static void SameBits(double[,] expected, double[] rowMajor) =>
        Assert.Equal(Flat(expected).Select(BitConverter.DoubleToInt64Bits), rowMajor.Select(BitConverter.DoubleToInt64Bits));

    private static void SameSolve(SinkhornResult expected, SinkhornResult actual)
    {
        Assert.Equal(expected.Value, actual.Value);
        Assert.Equal(expected.Epsilon, actual.Epsilon);
        Assert.Equal(expected.Iterations, actual.Iterations);
        Assert.Equal(expected.F, actual.F);
        Assert.Equal(expected.G, actual.G);
        SameBits(expected.Gradient(), actual.Gradient());
    }

    [Fact]
    public void WeightedSolvesFromMathNetAndSpansAreTheArraySolve()
    {
        using var arrays = EntropicOT.Solve(X, Y, A, B, Tight);
        using var mathNet = EntropicOT.Solve(M(X), M(Y), V(A), V(B), Tight);
        using var spans = EntropicOT.Solve(Flat(X), Flat(Y), 2, A, B, Tight);
        SameSolve(arrays, mathNet);
        SameSolve(arrays, spans);

        // Null Math.NET weights and empty span weights are uniform.
        using var uniform = EntropicOT.Solve(X, Y, Tight);
        using var mathNetUniform = EntropicOT.Solve(M(X), M(Y), null, null, Tight);
        using var spanUniform = EntropicOT.Solve(Flat(X), Flat(Y), 2, [], [], Tight);
        SameSolve(uniform, mathNetUniform);
        SameSolve(uniform, spanUniform);
    }

    [Fact]
    public void CostSolvesFromMathNetAreTheArraySolve()
    {
        var cost = new double[9, 7];
        for (int i = 0; i < 9; i++)
            for (int j = 0; j < 7; j++)
                cost[i, j] = Math.Pow(X[i, 0] - Y[j, 0], 2) + Math.Pow(X[i, 1] - Y[j, 1], 2) + 0.1 * i * j;
        using var uniform = EntropicOT.SolveCost(cost, Tight);
        using var mathNetUniform = EntropicOT.SolveCost(M(cost), Tight);
        Assert.Equal(uniform.Value, mathNetUniform.Value);
        Assert.Equal(uniform.F, mathNetUniform.F);
        using var weighted = EntropicOT.SolveCost(cost, A, B, Tight);
        using var mathNetWeighted = EntropicOT.SolveCost(M(cost), V(A), V(B), Tight);
        Assert.Equal(weighted.Value, mathNetWeighted.Value);
        Assert.Equal(weighted.G, mathNetWeighted.G);
        SameBits(weighted.Plan(), mathNetWeighted.Plan());
    }

    [Fact]
    public void DivergencesFromMathNetAndSpansAreTheArrayDivergence()
    {
        using var arrays = EntropicOT.SolveDivergence(X, Y, A, B, Tight);
        using var mathNet = EntropicOT.SolveDivergence(M(X), M(Y), V(A), V(B), Tight);
        using var spans = EntropicOT.SolveDivergence(Flat(X), Flat(Y), 2, A, B, Tight);
        foreach (var other in new[] { mathNet, spans })
        {
            Assert.Equal(arrays.Value, other.Value);
            Assert.Equal(arrays.CrossValue, other.CrossValue);
            Assert.Equal(arrays.Epsilon, other.Epsilon);
            SameBits(arrays.Gradient(), other.Gradient());
        }
        using var spanUniform = EntropicOT.SolveDivergence(Flat(X), Flat(Y), 2, options: Tight);
        using var arrayUniform = EntropicOT.SolveDivergence(X, Y, options: Tight);
        Assert.Equal(arrayUniform.Value, spanUniform.Value);

        Assert.Equal(EntropicOT.Divergence(X, Y, Tight), EntropicOT.Divergence(M(X), M(Y), Tight));
        Assert.Equal(EntropicOT.Divergence(X, Y, A, B, Tight), EntropicOT.Divergence(M(X), M(Y), V(A), V(B), Tight));
        SameBits(EntropicOT.DivergenceGradient(X, Y, Tight), EntropicOT.DivergenceGradient(M(X), M(Y), Tight));
        SameBits(EntropicOT.DivergenceGradient(X, Y, A, B, Tight), EntropicOT.DivergenceGradient(M(X), M(Y), V(A), V(B), Tight));
    }

    [Fact]
    public void GradientsIntoMathNetAndIntoABufferAreTheArrayGradient()
    {
        using var solved = EntropicOT.Solve(X, Y, A, B, Tight);
        var expected = solved.Gradient();
        SameBits(expected, solved.GradientMatrix());
        var buffer = new double[9 * 2];
        solved.Gradient(buffer);
        SameBits(expected, buffer);
        // A slice of a larger buffer: only the slice is written.
        var larger = Enumerable.Repeat(-7.0, 9 * 2 + 2).ToArray();
        solved.Gradient(larger.AsSpan(1, 9 * 2));
        Assert.Equal(-7.0, larger[0]);
        Assert.Equal(-7.0, larger[^1]);
        SameBits(expected, larger[1..^1]);

        using var divergence = EntropicOT.SolveDivergence(X, Y, A, B, Tight);
        var divergenceGradient = divergence.Gradient();
        SameBits(divergenceGradient, divergence.GradientMatrix());
        divergence.Gradient(buffer);
        SameBits(divergenceGradient, buffer);
    }

    [Fact]
    public void HessianVectorProductsFromMathNetAndIntoABufferAreTheArrayProduct()
    {
        using var solved = EntropicOT.Solve(X, Y, A, B, Tight);
        var expected = solved.HessianVectorProduct(Direction);
        SameBits(expected, solved.HessianVectorProduct(M(Direction)));
        var buffer = new double[9 * 2];
        solved.HessianVectorProduct(Flat(Direction), buffer);
        SameBits(expected, buffer);

        var op = solved.HessianOperator(new CgOptions { Tolerance = 1e-12 });
        var applied = op.Apply(Direction);
        var (mathNetValue, mathNetCg) = op.Apply(M(Direction));
        SameBits(applied.Value, mathNetValue);
        Assert.Equal(applied.Cg, mathNetCg);
        Array.Clear(buffer);
        Assert.Equal(applied.Cg, op.Apply(Flat(Direction), buffer));
        SameBits(applied.Value, buffer);

        using var divergence = EntropicOT.SolveDivergence(X, Y, A, B, Tight);
        var product = divergence.HessianVectorProduct(Direction);
        var (divergenceMathNet, divergenceCg) = divergence.HessianVectorProduct(M(Direction));
        SameBits(product.Value, divergenceMathNet);
        Assert.Equal(product.Cg, divergenceCg);
        Array.Clear(buffer);
        Assert.Equal(product.Cg, divergence.HessianVectorProduct(Flat(Direction), buffer));
        SameBits(product.Value, buffer);
    }

    [Fact]
    public void WrongLengthsAndShapesNameTheParameter()
    {
        using var solved = EntropicOT.Solve(X, Y, Tight);
        using var divergence = EntropicOT.SolveDivergence(X, Y, options: Tight);
        var op = solved.HessianOperator();
        var right = new double[18];
        void Named(string param, Action call) => Assert.Equal(param, Assert.ThrowsAny<ArgumentException>(call).ParamName);

        Named("destination", () => solved.Gradient(new double[17]));
        Named("destination", () => solved.Gradient(new double[19]));
        Named("destination", () => divergence.Gradient(Span<double>.Empty));
        Named("destination", () => solved.HessianVectorProduct(Flat(Direction), new double[17]));
        Named("direction", () => solved.HessianVectorProduct(new double[16], right));
        Named("destination", () => op.Apply(Flat(Direction), new double[20]));
        Named("direction", () => op.Apply(new double[19], right));
        Named("destination", () => divergence.HessianVectorProduct(Flat(Direction), new double[2]));
        Named("direction", () => divergence.HessianVectorProduct(new double[2], right));
        Named("direction", () => solved.HessianVectorProduct(M(new double[9, 3])));
        Named("direction", () => solved.HessianVectorProduct(new double[8, 2]));
        Named("direction", () => op.Apply(M(new double[8, 2])));
        Named("direction", () => op.Apply(new double[9, 1]));
        Named("direction", () => divergence.HessianVectorProduct(M(new double[10, 2])));
        Named("direction", () => divergence.HessianVectorProduct(new double[10, 2]));

        Named("x", () => EntropicOT.Solve(new double[7], Flat(Y), 2, A, B, Tight));
        Named("a", () => EntropicOT.Solve(Flat(X), Flat(Y), 2, A[..8], B, Tight));
        Named("b", () => EntropicOT.Solve(M(X), M(Y), V(A), V(A), Tight));
        Named("b", () => EntropicOT.SolveCost(M(new double[9, 7]), V(A), V(A), Tight));
        Named("y", () => EntropicOT.SolveDivergence(Flat(X), new double[5], 2));
        Named("a", () => EntropicOT.SolveDivergence(M(X), M(Y), V(B), null, Tight));
        Named("dimension", () => EntropicOT.SolveDivergence(Flat(X), Flat(Y), 0));
    }

    [Fact]
    public void ANullCloudOrDirectionBindsTheArrayOverloadAndIsNamed()
    {
        // Each of these compiles only because the double[,] overload is preferred over its Math.NET twin.
        Assert.Equal("x", Assert.Throws<ArgumentNullException>(() => EntropicOT.Solve(null!, null!)).ParamName);
        Assert.Equal("x", Assert.Throws<ArgumentNullException>(() => EntropicOT.Solve(null!, null!, null, null, Tight)).ParamName);
        Assert.Equal("cost", Assert.Throws<ArgumentNullException>(() => EntropicOT.SolveCost(null!)).ParamName);
        Assert.Equal("cost", Assert.Throws<ArgumentNullException>(() => EntropicOT.SolveCost(null!, null, null)).ParamName);
        Assert.Equal("x", Assert.Throws<ArgumentNullException>(() => EntropicOT.SolveDivergence(null!, null!)).ParamName);
        Assert.Equal("x", Assert.Throws<ArgumentNullException>(() => EntropicOT.Divergence(null!, null!)).ParamName);
        Assert.Equal("x", Assert.Throws<ArgumentNullException>(() => EntropicOT.DivergenceGradient(null!, null!, null, null)).ParamName);
        using var solved = EntropicOT.Solve(X, Y, Tight);
        using var divergence = EntropicOT.SolveDivergence(X, Y, options: Tight);
        Assert.Equal("direction", Assert.Throws<ArgumentNullException>(() => solved.HessianVectorProduct(null!)).ParamName);
        Assert.Equal("direction", Assert.Throws<ArgumentNullException>(() => solved.HessianOperator().Apply(null!)).ParamName);
        Assert.Equal("direction", Assert.Throws<ArgumentNullException>(() => divergence.HessianVectorProduct(null!)).ParamName);
    }

    [Fact]
    public void ACostMatrixProblemHasNoGradientInAnyForm()
    {
        using var solved = EntropicOT.SolveCost(new double[,] { { 0, 1 }, { 1, 0 } }, Tight with { EpsilonRelative = false, Epsilon = 0.5 });
        Assert.Throws<NotSupportedException>(() => solved.Gradient());
        Assert.Throws<NotSupportedException>(() => solved.GradientMatrix());
        Assert.Throws<NotSupportedException>(() => solved.Gradient(new double[4]));
    }

    [Fact]
    public void AFlowLoopReusesItsBuffers()
    {
        // The span pattern end to end: points in one flat buffer, gradient into another, no double[,] in the loop.
        var x = Flat(X);
        var y = Flat(Y);
        var gradient = new double[x.Length];
        double first = double.NaN, last = double.NaN;
        for (int step = 0; step < 5; step++)
        {
            using var divergence = EntropicOT.SolveDivergence(x, y, 2, options: Tight);
            if (step == 0) first = divergence.Value;
            last = divergence.Value;
            divergence.Gradient(gradient);
            for (int k = 0; k < x.Length; k++) x[k] -= 2.0 * gradient[k];
        }
        Assert.True(last < first, $"the divergence did not decrease: {first} → {last}");
    }

    [Fact]
    public void TheRemainingMathNetTwinsAreTheArrayForms()
    {
        using (var arrays = EntropicOT.SolveSelf(X, A, Tight))
        using (var mathNet = EntropicOT.SolveSelf(M(X), V(A), Tight))
        {
            SameSolve(arrays, mathNet);
            SameBits(arrays.Plan(), mathNet.PlanMatrix());
            var (products, report) = arrays.HessianOperator().ApplyMany([M(Direction), M(X)]);
            var (expected, expectedReport) = arrays.HessianOperator().ApplyMany([Direction, X]);
            SameBits(expected[0], products[0]);
            SameBits(expected[1], products[1]);
            Assert.Equal(expectedReport, report);
        }
        SameBits(EntropicOT.DivergenceHessian(X, Y, A, B, Tight), EntropicOT.DivergenceHessian(M(X), M(Y), V(A), V(B), Tight));
        SameBits(EntropicOT.DivergenceHessian(X, Y, Tight), EntropicOT.DivergenceHessian(M(X), M(Y), options: Tight));
        var items = EntropicOT.SolveBatch([(X, Y), (Y, X)], Tight);
        var mathNetItems = EntropicOT.SolveBatch([(M(X), M(Y)), (M(Y), M(X))], Tight);
        for (int i = 0; i < 2; i++)
        {
            Assert.Equal(items[i].Value, mathNetItems[i].Value);
            SameBits(items[i].Gradient!, mathNetItems[i].Gradient!);
        }
        var outcome = EntropicOT.TrySolveBatch([BatchProblem.From(M(X), M(Y), V(A), V(B), "p")], Tight)[0];
        using var weighted = EntropicOT.Solve(X, Y, A, B, Tight);
        Assert.Equal(weighted.Value, outcome.Item!.Value);
        // A literal null still binds the double[,] forms and names the argument.
        Assert.Equal("x", Assert.Throws<ArgumentNullException>(() => EntropicOT.SolveSelf(null!)).ParamName);
        Assert.Equal("problems", Assert.Throws<ArgumentNullException>(() => EntropicOT.SolveBatch(null!)).ParamName);
    }

    [Fact]
    public void AGradientIntoTheCallersBufferAllocatesNothing()
    {
        using var result = EntropicOT.Solve(X, Y, A, B, Tight);
        using var divergence = EntropicOT.SolveDivergence(X, Y, A, B, Tight);
        var buffer = new double[X.Length];
        result.Gradient(buffer);          // the first calls may compile code
        divergence.Gradient(buffer);
        long before = GC.GetAllocatedBytesForCurrentThread();
        result.Gradient(buffer);
        divergence.Gradient(buffer);
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        SameBits(divergence.Gradient(), buffer);
    }
}
