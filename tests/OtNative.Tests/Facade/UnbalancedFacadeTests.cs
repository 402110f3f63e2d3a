using System.Diagnostics;
using System.Globalization;
using Xunit;

namespace OtNative.Tests;

/// <summary>Unbalanced transport through the public API: options, the transported mass, the sharp gradient, POT.</summary>
public class UnbalancedFacadeTests
{
    private static SinkhornOptions Relaxed(double tauA, double tauB) => new()
    {
        Epsilon = 0.1, EpsilonRelative = false, TauA = tauA, TauB = tauB, Tolerance = 1e-12, MaxIterations = 200_000,
    };

    [Fact]
    public void OutliersMassIsLeftBehindAndTheBalancedLimitIsRecovered()
    {
        // Two matching clouds, and three source outliers far from every target.
        var y = TestData.Cloud(1, 40, 2);
        var x = new double[43, 2];
        for (int i = 0; i < 40; i++) { x[i, 0] = y[i, 0] + 0.01; x[i, 1] = y[i, 1]; }
        for (int i = 40; i < 43; i++) { x[i, 0] = 30 + i; x[i, 1] = -30; }
        using var unbalanced = EntropicOT.Solve(x, y, Relaxed(1.0, 1.0));
        Assert.True(unbalanced.Converged);
        var plan = unbalanced.Plan();
        double outlierMass = 0;
        for (int i = 40; i < 43; i++)
            for (int j = 0; j < 40; j++) outlierMass += plan[i, j];
        // Their weight is 3/43; moving it would cost about 30² each, the penalty about τ times it.
        Assert.True(outlierMass < 1e-6, $"outliers moved {outlierMass}");
        Assert.InRange(unbalanced.TransportedMass, 0.85, 40.0 / 43 + 1e-3);
        // τ = ∞ on both sides is the balanced problem exactly; a huge τ is close to it.
        var near = TestData.Cloud(2, 40, 2, 0.2);
        using var balanced = EntropicOT.Solve(near, y, Relaxed(double.PositiveInfinity, double.PositiveInfinity));
        Assert.Equal(1.0, balanced.TransportedMass, 10);
        using var nearly = EntropicOT.Solve(near, y, Relaxed(1e7, 1e7) with { Tolerance = 1e-10 });
        Assert.Equal(balanced.Value, nearly.Value, 1e-6 * balanced.Value);
        Assert.Equal(1.0, nearly.TransportedMass, 1e-6);
        Assert.Equal("TauA", Assert.ThrowsAny<ArgumentException>(() => EntropicOT.Solve(x, y, Relaxed(0, 1))).ParamName);
        Assert.Equal("TauB", Assert.ThrowsAny<ArgumentException>(() => EntropicOT.Solve(x, y, Relaxed(1, double.NaN))).ParamName);
        Assert.Throws<NotSupportedException>(() => EntropicOT.Solve(x, y, Relaxed(1, 1) with { Solver = SinkhornSolver.Lbfgs }));
    }

    [Fact]
    public void TheUnbalancedSharpGradientEqualsFiniteDifferencesOfTheSharpValue()
    {
        var x = TestData.Cloud(3, 7, 2);
        var y = TestData.Cloud(4, 6, 2, 0.3);
        var options = Relaxed(0.7, 2.0);
        using var result = EntropicOT.Solve(x, y, options);
        var gradient = result.SharpGradient();
        var fd = TestData.SolveDifferences(x, y, options, result.F, 1e-6, r => r.SharpValue);
        Assert.True(TestData.MaxRelativeError(gradient, fd) < 1e-5, $"{TestData.MaxRelativeError(gradient, fd)}");
    }

    /// <summary>
    /// POT 0.8's <c>ot.unbalanced.sinkhorn_unbalanced(a, b, M, reg, reg_m)</c> penalises the entropy Σ P(log P − 1) rather
    /// than KL(P ‖ a⊗b): with M = C − ε(log a_i + log b_j) the two problems have the same plan (newer POT takes
    /// <c>reg_type='kl'</c> with <c>c = a⊗b</c> instead), and the primal objective of that plan is the unbalanced value.
    /// Runs where Debian's python3-pot is installed.
    /// </summary>
    [PotFact]
    public void ThePlanValueAndMassEqualPots()
    {
        var x = TestData.Cloud(5, 12, 2);
        var y = TestData.Cloud(6, 15, 2, 0.4);
        var a = Enumerable.Range(1, 12).Select(i => i / 78.0).ToArray();
        using var ours = EntropicOT.Solve(x, y, a, null, Relaxed(0.5, 0.5));
        var dir = TestData.TempDirectory();
        NpyFile.Write(Path.Combine(dir, "x.npy"), x);
        NpyFile.Write(Path.Combine(dir, "y.npy"), y);
        var script = $$"""
            import numpy as np, ot
            x = np.load('{{dir}}/x.npy'); y = np.load('{{dir}}/y.npy')
            a = np.arange(1, 13) / 78.0; b = np.full(15, 1 / 15)
            C = ((x[:, None, :] - y[None, :, :]) ** 2).sum(-1)
            eps, tau = 0.1, 0.5
            import inspect
            if 'reg_type' in inspect.signature(ot.unbalanced.sinkhorn_unbalanced).parameters:
                # POT ≥ 0.9: the entropic term can be KL(P ‖ a⊗b), ours.
                P = ot.unbalanced.sinkhorn_unbalanced(a, b, C, eps, tau, reg_type='kl', c=np.outer(a, b), numItermax=1000000, stopThr=1e-16)
            else:
                M = C - eps * (np.log(a)[:, None] + np.log(b)[None, :])
                P = ot.unbalanced.sinkhorn_unbalanced(a, b, M, eps, tau, numItermax=1000000, stopThr=1e-16)
            kl = lambda u, w: (u * np.log(u / w) - u + w).sum()
            value = (P * C).sum() + eps * kl(P.ravel(), np.outer(a, b).ravel()) + tau * kl(P.sum(1), a) + tau * kl(P.sum(0), b)
            np.save('{{dir}}/P.npy', P)
            print(repr(value), repr(P.sum()))
            """;
        var output = RunPython(script).Split(' ');
        Assert.Equal(double.Parse(output[0], CultureInfo.InvariantCulture), ours.Value, 1e-12);
        Assert.Equal(double.Parse(output[1], CultureInfo.InvariantCulture), ours.TransportedMass, 1e-12);
        Assert.True(TestData.MaxRelativeError(ours.Plan(), NpyFile.Read(Path.Combine(dir, "P.npy")).ToMatrix()) < 1e-9);
    }

    internal static bool PotAvailable()
    {
        try { return RunPython("import ot; print(1)").Trim() == "1"; }
        catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception) { return false; }
    }

    internal static string RunPython(string script)
    {
        var start = new ProcessStartInfo(File.Exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3", ["-c", script])
        {
            RedirectStandardOutput = true, RedirectStandardError = true,
        };
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEnd();
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        return process.ExitCode == 0 ? output.Trim() : throw new InvalidOperationException(error);
    }
    [Fact]
    public void ATauTooSmallForFloat64IsRefusedNamingIt()
    {
        // A subnormal τ made κ = τ/(τ + ε) round to 1e-322: the solve then failed its own marginal test
        // (SinkhornConvergenceException after 2 iterations). Below 1e-200 ε it is refused; 1e-199 ε still solves.
        var x = TestData.Cloud(1, 8, 2);
        var y = TestData.Cloud(2, 9, 2, 0.2);
        var e = Assert.ThrowsAny<ArgumentException>(() => EntropicOT.Solve(x, y, Relaxed(double.Epsilon, double.Epsilon)));
        Assert.Equal("TauA", e.ParamName);
        Assert.Contains("1e-200", e.Message);
        Assert.Equal("TauB", Assert.ThrowsAny<ArgumentException>(() => EntropicOT.Solve(x, y, Relaxed(1, 1e-210))).ParamName);
        Assert.Equal("TauA", Assert.ThrowsAny<ArgumentException>(() => EntropicOT.Divergence(x, y, Relaxed(1e-300, 1e-300))).ParamName);
        var outcome = EntropicOT.TrySolveBatch(new[] { new BatchProblem(x, y) }, Relaxed(1e-305, 1))[0];
        Assert.IsAssignableFrom<ArgumentException>(outcome.Error);
        using var tiny = EntropicOT.Solve(x, y, Relaxed(1e-199 * 0.1, 1e-199 * 0.1));
        using var small = EntropicOT.Solve(x, y, Relaxed(1e-12, 1e-12));
        Assert.True(tiny.Converged);
        Assert.Equal(small.TransportedMass, tiny.TransportedMass, 1e-9);
    }

    [Fact]
    public void OptionErrorsNameTheOption()
    {
        var x = TestData.Cloud(1, 8, 2);
        var y = TestData.Cloud(2, 9, 2, 0.2);
        // The core's symmetric solve named its internal 'problem'; the façade names the option.
        var self = Assert.ThrowsAny<ArgumentException>(() => EntropicOT.SolveSelf(x, null, Relaxed(0.5, 0.7)));
        Assert.Equal("TauB", self.ParamName);
        Assert.Equal("TauB", Assert.ThrowsAny<ArgumentException>(() => EntropicOT.SolveSelf(x, null, Relaxed(0.5, double.PositiveInfinity))).ParamName);
        using (var relaxedSelf = EntropicOT.SolveSelf(x, null, Relaxed(0.5, 0.5))) Assert.True(relaxedSelf.TransportedMass < 1);
        // An undefined VectorWidth named the private 'width'.
        Assert.Equal("VectorWidth", Assert.ThrowsAny<ArgumentException>(() => EntropicOT.Solve(x, y, Relaxed(1, 1) with { VectorWidth = (CpuVectorWidth)99 })).ParamName);
    }

    [Fact]
    public void PointsWhoseMassIsLeftBehindEntirelyAreDecoupledNotDividedBy()
    {
        // Three source outliers 1000 away: their row mass underflows to exactly 0 (left behind). The Schur path, HVPs and
        // the sharp gradient divided by it (NumericalFailureException); they now agree with Algorithm 1's eigen path.
        var y = TestData.Cloud(5, 10, 2);
        var x = new double[12, 2];
        var inliers = TestData.Cloud(6, 9, 2);
        for (int i = 0; i < 12; i++)
            for (int k = 0; k < 2; k++) x[i, k] = i < 9 ? inliers[i, k] : 1000 + i + k;
        var options = Relaxed(0.5, 0.5) with { Tolerance = 1e-10 };
        foreach (var (source, target) in new[] { (x, y), (y, x) })   // n > m and n < m: both Schur eliminations
        {
            using var result = EntropicOT.Solve(source, target, options);
            Assert.InRange(result.TransportedMass, 0.5, 0.8);
            var eigen = result.Hessian(HessianMethod.Eigen).Matrix;
            var schur = result.Hessian(HessianMethod.Schur).Matrix;
            int nd = eigen.GetLength(0);
            var direction = TestData.Cloud(7, source.GetLength(0), 2, -0.5);
            var product = result.HessianVectorProduct(direction);
            for (int i = 0; i < nd; i++)
            {
                double expected = 0;
                for (int j = 0; j < nd; j++)
                {
                    Assert.Equal(eigen[i, j], schur[i, j], 1e-9);
                    expected += eigen[i, j] * direction[j / 2, j % 2];
                }
                Assert.Equal(expected, product[i / 2, i % 2], 1e-8);
            }
            Assert.All(result.SharpGradient().Cast<double>(), v => Assert.True(double.IsFinite(v)));
            var spectrum = result.Spectrum();
            Assert.True(spectrum.SmallestPositive > 1e-6 && double.IsFinite(spectrum.ConditionNumber), $"{spectrum.SmallestPositive}");
        }
        // Every point left behind: no mass moved; the derivatives are zero, and the spectrum (H = 0) has no positive value.
        var far = TestData.Cloud(8, 10, 2, 1000);
        using var nothing = EntropicOT.Solve(y, far, options);
        Assert.Equal(0.0, nothing.TransportedMass);
        Assert.All(nothing.Hessian(HessianMethod.Schur).Matrix.Cast<double>(), v => Assert.Equal(0.0, v));
        Assert.All(nothing.HessianVectorProduct(y).Cast<double>(), v => Assert.Equal(0.0, v));
        Assert.All(nothing.SharpGradient().Cast<double>(), v => Assert.Equal(0.0, v));
        Assert.Contains("moved no mass", Assert.Throws<NumericalFailureException>(() => nothing.Spectrum()).Message);
    }
}

/// <summary>A test that needs POT (Debian's python3-pot): skipped, saying so, where it is not installed.</summary>
public sealed class PotFactAttribute : FactAttribute
{
    public PotFactAttribute()
    {
        if (!UnbalancedFacadeTests.PotAvailable()) Skip = "POT (python3-pot) is not installed here";
    }
}
