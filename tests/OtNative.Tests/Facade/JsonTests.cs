using System.Text.Json;
using Xunit;

namespace OtNative.Tests;

/// <summary>The result records serialise with System.Text.Json and read back with the same numbers.</summary>
public class JsonTests
{
    private static readonly SinkhornOptions Tight = new() { Epsilon = 0.2, EpsilonRelative = true, Tolerance = 1e-11 };

    private static T RoundTrip<T>(T value, out string json)
    {
        json = JsonSerializer.Serialize(value);
        return JsonSerializer.Deserialize<T>(json)!;
    }

    private static void SameBits(double[,]? expected, double[,]? actual)
    {
        if (expected is null) { Assert.Null(actual); return; }
        Assert.NotNull(actual);
        Assert.Equal(expected.GetLength(0), actual.GetLength(0));
        Assert.Equal(expected.GetLength(1), actual.GetLength(1));
        Assert.Equal(expected.Cast<double>().Select(BitConverter.DoubleToInt64Bits), actual.Cast<double>().Select(BitConverter.DoubleToInt64Bits));
    }

    private static void SameBits(IReadOnlyList<double> expected, IReadOnlyList<double> actual) =>
        Assert.Equal(expected.Select(BitConverter.DoubleToInt64Bits), actual.Select(BitConverter.DoubleToInt64Bits));

    [Fact]
    public void ABatchItemReadsBackWithTheSameNumbers()
    {
        var problems = new[] { (TestData.Cloud(41, 7, 2), TestData.Cloud(42, 6, 2, 0.3)), (TestData.Cloud(43, 5, 2), TestData.Cloud(44, 8, 2)) };
        var directions = new[] { TestData.Cloud(45, 7, 2), TestData.Cloud(46, 5, 2) };
        var items = EntropicOT.SolveBatch(problems, Tight, gradients: true, hessians: true, hvpDirections: directions, sharpValues: true);
        var back = RoundTrip(items, out var json);
        Assert.Equal(items.Length, back.Length);
        for (int i = 0; i < items.Length; i++)
        {
            var (e, a) = (items[i], back[i]);
            Assert.Equal(e.Index, a.Index);
            Assert.Equal(e.Value, a.Value);
            Assert.Equal(e.Epsilon, a.Epsilon);
            Assert.Equal(e.Iterations, a.Iterations);
            Assert.Equal(e.MarginalError, a.MarginalError);
            Assert.Equal(e.Converged, a.Converged);
            Assert.NotNull(e.Gradient);
            Assert.NotNull(e.Hessian);
            Assert.NotNull(e.HessianVectorProduct);
            SameBits(e.Gradient, a.Gradient);
            SameBits(e.Hessian, a.Hessian);
            SameBits(e.HessianVectorProduct, a.HessianVectorProduct);
            Assert.Equal(e.HessianVectorProductCg, a.HessianVectorProductCg);
            Assert.Equal(e.MixedIterations, a.MixedIterations);
            SameBits(e.F, a.F);
            SameBits(e.G, a.G);
            Assert.Equal(e.Elapsed, a.Elapsed);
            Assert.NotNull(e.SharpValue);
            Assert.Equal(e.SharpValue, a.SharpValue);
        }
        Assert.Contains("\"Gradient\":[[", json);

        // A member that was not asked for stays null.
        var plain = EntropicOT.SolveBatch(problems, Tight, gradients: false);
        var plainBack = RoundTrip(plain[0], out var plainJson);
        Assert.Contains("\"Gradient\":null", plainJson);
        Assert.Null(plainBack.Gradient);
        Assert.Null(plainBack.Hessian);
        Assert.Null(plainBack.SharpValue);
        Assert.Null(plainBack.HessianVectorProductCg);
    }

    [Fact]
    public void AHessianResultAndASpectrumReadBackWithTheSameNumbers()
    {
        using var solved = EntropicOT.Solve(TestData.Cloud(47, 6, 2), TestData.Cloud(48, 5, 2), Tight);
        var hessian = solved.Hessian(HessianMethod.Schur);
        var back = RoundTrip(hessian, out var json);
        SameBits(hessian.Matrix, back.Matrix);
        Assert.Equal(hessian.Method, back.Method);
        Assert.Equal(hessian.Kept, back.Kept);
        Assert.Equal(hessian.Dropped, back.Dropped);
        Assert.Equal(hessian.SmallestKept, back.SmallestKept);
        Assert.Equal(hessian.Factorisation, back.Factorisation);
        Assert.Equal(hessian.Threshold, back.Threshold);
        Assert.Equal(hessian.RowSumError, back.RowSumError);
        Assert.Equal(hessian.Elapsed, back.Elapsed);
        Assert.Contains("\"Method\":\"Schur\"", json);
        Assert.DoesNotContain("MarginalError", json);

        var spectrum = solved.Spectrum();
        var spectrumBack = RoundTrip(spectrum, out _);
        SameBits(spectrum.Eigenvalues, spectrumBack.Eigenvalues);
        Assert.Equal(spectrum.SmallestPositive, spectrumBack.SmallestPositive);
        Assert.Equal(spectrum.ConditionNumber, spectrumBack.ConditionNumber);

        var product = solved.HessianOperator().Apply(TestData.Cloud(49, 6, 2));
        var productBack = RoundTrip(product, out _);
        SameBits(product.Value, productBack.Value);
        Assert.Equal(product.Cg, productBack.Cg);

        var divergence = EntropicOT.Divergence(TestData.Cloud(47, 6, 2), TestData.Cloud(48, 5, 2), Tight);
        Assert.Equal(divergence, RoundTrip(divergence, out _));
    }

    [Fact]
    public void ABatchOutcomeKeepsItsFailureAsAMessage()
    {
        var good = new BatchProblem(TestData.Cloud(50, 5, 2), TestData.Cloud(51, 4, 2));
        var bad = new BatchProblem(new double[,] { { double.NaN, 0 } }, TestData.Cloud(52, 4, 2));
        var outcomes = EntropicOT.TrySolveBatch([good, bad], Tight);
        Assert.True(outcomes[0].Succeeded);
        Assert.False(outcomes[1].Succeeded);
        var back = RoundTrip(outcomes, out var json);
        Assert.True(back[0].Succeeded);
        Assert.Null(back[0].ErrorMessage);
        SameBits(outcomes[0].Item!.Gradient, back[0].Item!.Gradient);
        Assert.False(back[1].Succeeded);
        Assert.Null(back[1].Item);
        Assert.Null(back[1].Error);
        Assert.Equal(outcomes[1].Error!.Message, back[1].ErrorMessage);
        Assert.Equal(outcomes[1].ErrorMessage, back[1].ErrorMessage);
        Assert.Contains("problems[1].X", back[1].ErrorMessage);
        Assert.DoesNotContain("\"Error\"", json);
    }

    [Fact]
    public void TheConverterKeepsEveryDoubleAndRefusesRaggedRows()
    {
        var options = new JsonSerializerOptions { Converters = { new Array2DJsonConverter() } };
        var awkward = new double[,]
        {
            { 0.1, -0.0, double.Epsilon, double.MaxValue, 1.0 / 3.0 },
            { double.NaN, double.PositiveInfinity, double.NegativeInfinity, -1e-300, Math.PI },
        };
        var json = JsonSerializer.Serialize(awkward, options);
        Assert.StartsWith("[[0.1,-0,", json);
        SameBits(awkward, JsonSerializer.Deserialize<double[,]>(json, options));
        SameBits(new double[3, 0], JsonSerializer.Deserialize<double[,]>(JsonSerializer.Serialize(new double[3, 0], options), options));
        SameBits(new double[0, 0], JsonSerializer.Deserialize<double[,]>("[]", options));
        Assert.Null(JsonSerializer.Deserialize<double[,]>("null", options));
        Assert.Throws<JsonException>(() => JsonSerializer.Deserialize<double[,]>("[[1,2],[3]]", options));
        Assert.Throws<JsonException>(() => JsonSerializer.Deserialize<double[,]>("[1,2]", options));
        Assert.Throws<JsonException>(() => JsonSerializer.Deserialize<double[,]>("[[1,\"x\"]]", options));
        Assert.Throws<JsonException>(() => JsonSerializer.Deserialize<double[,]>("{}", options));
        // A literal beyond double's range read as ∞; the named string still means it.
        Assert.Contains("1e400", Assert.Throws<JsonException>(() => JsonSerializer.Deserialize<double[,]>("[[1,1e400]]", options)).Message);
        Assert.Throws<JsonException>(() => JsonSerializer.Deserialize<double[,]>("[[-2e308]]", options));
        Assert.Equal(double.PositiveInfinity, JsonSerializer.Deserialize<double[,]>("[[\"Infinity\"]]", options)![0, 0]);
        Assert.Throws<JsonException>(() => JsonSerializer.Deserialize<BatchItem>("{\"Gradient\":[[1e999]]}"));
    }

    [Fact]
    public void NonFiniteScalarsAndEnumsOfAResultReadBack()
    {
        var iteration = new RegressionIteration(3, RegressionStage.RelaxedNewton, 0.5, 1e-3, double.NaN, double.NaN, double.PositiveInfinity,
            false, 0.25, 12, true, true, 1.5);
        var back = RoundTrip(iteration, out var json);
        Assert.Equal(iteration, back);
        Assert.Contains("\"Stage\":\"RelaxedNewton\"", json);
        Assert.Contains("\"ParameterError\":\"NaN\"", json);

        var fit = new RegressionFit(new double[,] { { 1, 2 }, { 3, double.NaN } }, [0.5, double.NegativeInfinity], [iteration], 1, 0.1, 0.2, double.NaN, "converged");
        var fitBack = RoundTrip(fit, out _);
        SameBits(fit.Parameters, fitBack.Parameters);
        SameBits(fit.MapParameters, fitBack.MapParameters);
        Assert.Equal(iteration, Assert.Single(fitBack.History));
        Assert.Equal(fit.StopReason, fitBack.StopReason);
    }
}
