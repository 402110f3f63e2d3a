using FsCheck;
using FsCheck.Fluent;
using OtNative.Testing;
using Xunit;

namespace PropertyTests;

/// <summary>
/// OtNative's own identity checks as an application's property tests: FsCheck draws well-posed problems
/// (<see cref="OtGenerators"/>) and <see cref="OtChecks"/> holds each to an independent reference.
/// </summary>
public class GradientProperties
{
    /// <summary>
    /// ∂L_ε/∂x of the package agrees with central finite differences of the value, on 100 problems of up to 7 points in
    /// up to 3 dimensions. <see cref="OtConfig.Quick"/> makes a failing draw throw, so that the test fails (FsCheck's
    /// own Config.Quick only prints it), and allows at most 5 % of the draws to be discarded.
    /// </summary>
    [Fact]
    public void GradientsMatchFiniteDifferences() =>
        Check.One(OtConfig.Quick(100), Prop.ForAll(OtGenerators.Arbitrary(7, 3), s => OtChecks.Gradient(s).ToProperty()));
}
