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
    private static readonly Config Runs = Config.QuickThrowOnFailure.WithMaxTest(12);

    [Fact]
    public void GradientsMatchFiniteDifferences() =>
        Check.One(Runs, Prop.ForAll(OtGenerators.Problems(7, 3).ToArbitrary(), s => OtChecks.Gradient(s).ToProperty()));

    [Fact]
    public void HessianVectorProductsMatchFiniteDifferences() =>
        Check.One(Runs, Prop.ForAll(
            OtGenerators.Problems(6, 3, 0.05, 1.0).SelectMany(s => OtGenerators.Direction(s.N, s.Dimension).Select(d => (Sample: s, Direction: d))).ToArbitrary(),
            draw => OtChecks.HessianVectorProduct(draw.Sample, draw.Direction).ToProperty()));

    [Fact]
    public void MarginalIdentityKernelAndTranslationHold() =>
        Check.One(Runs, Prop.ForAll(OtGenerators.Problems(8, 3, 0.02, 1.0).ToArbitrary(), s =>
            OtChecks.MarginalIdentity(s).ToProperty()
                .And(OtChecks.HMatrixKernel(s).ToProperty())
                .And(OtChecks.TranslationInvariance(s, Enumerable.Repeat(1e3, s.Dimension).ToArray()).ToProperty())));

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
