using FsCheck;
using FsCheck.Fluent;
using OtNative.Testing;
using Xunit;

namespace OtNative.Tests;

/// <summary>
/// The OtNative.Testing package used the way an application would, from C# through FsCheck's fluent API: its
/// generators feed its identity checks, and each check must also catch a wrong derivative.
/// </summary>
public class TestingPackageTests
{
    private static readonly Config Runs = OtConfig.Quick(20);

    [Fact]
    public void AFailingPropertyFailsItsTestAndIsReportedOnTheSmallestProblemThatFails()
    {
        // Holds for at most 2 source points: the smallest counterexample has 3, in one dimension, with uniform weights.
        var e = Assert.ThrowsAny<Exception>(() =>
            Check.One(OtConfig.Quick(100), Prop.ForAll(OtGenerators.Arbitrary(9, 3), s => s.N <= 2)));
        Assert.Matches(@"ProblemSample\(seed \d+, n 3, m 1, d 1, ε [0-9.e+-]+ × mean cost, uniform weights\)", e.Message);
    }

    [Fact]
    public void GradientsMatchFiniteDifferences() =>
        Check.One(Runs, Prop.ForAll(OtGenerators.Arbitrary(7, 3), s => OtChecks.Gradient(s).ToProperty()));

    [Fact]
    public void HessianVectorProductsMatchFiniteDifferences() =>
        Check.One(Runs, Prop.ForAll(
            OtGenerators.Problems(6, 3, 0.05, 1.0).SelectMany(s => OtGenerators.Direction(s.N, s.Dimension).Select(d => (Sample: s, Direction: d))).ToArbitrary(),
            draw => OtChecks.HessianVectorProduct(draw.Sample, draw.Direction).ToProperty()));

    [Fact]
    public void MarginalIdentityAndTranslationHold() =>
        Check.One(Runs, Prop.ForAll(OtGenerators.Arbitrary(8, 3, 0.02, 1.0), s =>
            OtChecks.MarginalIdentity(s).ToProperty()
                .And(OtChecks.TranslationInvariance(s, Enumerable.Repeat(1e3, s.Dimension).ToArray()).ToProperty())));

    /// <summary>
    /// From ε = 0.3 × mean cost, where the plans are numerically positive: below it about a quarter of these draws
    /// are block-disconnected (71 of 300 from 0.02), which the check does not cover.
    /// </summary>
    [Fact]
    public void HMatrixKernelIsSimple() =>
        Check.One(Runs, Prop.ForAll(OtGenerators.Arbitrary(8, 3, 0.3, 1.0), s => OtChecks.HMatrixKernel(s).ToProperty()));

    [Fact]
    public void FiniteDifferencesCatchAWrongDerivative()
    {
        // f(z) = Σ z², whose gradient is 2z: the check must accept 2z and reject z.
        var at = new double[,] { { 1.0, -2.0 }, { 0.5, 3.0 } };
        var fd = FiniteDifferences.Gradient(z => z.Cast<double>().Sum(v => v * v), at, 1e-5);
        var right = new double[,] { { 2.0, -4.0 }, { 1.0, 6.0 } };
        Assert.True(FiniteDifferences.RelativeError(right, fd) < 1e-9);
        Assert.True(FiniteDifferences.RelativeError(at, fd) > 0.4);
    }

    /// <summary>A 20-draw property under <see cref="OtConfig.Quick"/> whose filter discards every <paramref name="period"/>-th draw.</summary>
    private static void DiscardingEvery(int period)
    {
        var draw = 0;
        Check.One(OtConfig.Quick(20), Prop.ForAll(Gen.Choose(0, 9).ToArbitrary(), _ => true.When(++draw % period != 0)));
    }

    [Fact]
    public void AtMostFivePercentOfTheDrawsMayBeDiscarded()
    {
        DiscardingEvery(15);   // one discard in 21 draws: 4.8 %
        var exhausted = Assert.ThrowsAny<Exception>(() => DiscardingEvery(10));   // two in 22: 9 %
        Assert.Contains("xhausted", exhausted.Message);
    }

    [Fact]
    public void SamplesAreReproducibleFromTheirRecipe()
    {
        var sample = new ProblemSample(17, 6, 4, 3, 0.1, uniformWeights: false);
        var again = new ProblemSample(sample.Seed, sample.N, sample.M, sample.Dimension, sample.EpsilonScale, sample.UniformWeights);
        Assert.Equal(sample.X, again.X);
        Assert.Equal(sample.B, again.B);
        Assert.Equal(1.0, sample.A.Sum(), 12);
        Assert.Contains($"seed {sample.Seed}", sample.ToString());
    }
}
