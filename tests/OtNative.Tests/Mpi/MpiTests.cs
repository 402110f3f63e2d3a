using System.Text.Json;
using OtNative.Cli;
using Xunit;

namespace OtNative.Tests;

/// <summary>
/// A test that needs an <c>mpiexec -n 2</c> (or larger) job: build/test.sh runs these through OtNative.DeviceRunner under
/// mpiexec; <c>dotnet test</c> excludes them (Category=Mpi) and, run directly, skips them saying why.
/// </summary>
public sealed class MpiFactAttribute : FactAttribute
{
    public MpiFactAttribute()
    {
        if (!MpiSession.IsAvailable) Skip = "MPI " + MpiSession.Description;
        else if (MpiSession.LaunchedRanks < 2) Skip = "needs an mpiexec job of at least two ranks (build/test.sh runs one)";
    }
}

/// <summary>The distributed operator and the distributed batch against the single-process library, on every rank.</summary>
[Trait("Category", "Mpi")]
public class MpiTests
{
    private static MpiSession Session => MpiSession.Current ?? MpiSession.Start();

    [MpiFact]
    public void DistributedSolveGradientHvpAndHessianEqualTheSingleProcessOnes()
    {
        Assert.True(Session.Size >= 2);
        // 151 rows: the ranks' slices differ in size and mass (non-uniform weights).
        var x = TestData.Cloud(51, 151, 3);
        var y = TestData.Cloud(52, 97, 3, 0.4);
        var a = Enumerable.Range(0, 151).Select(i => 1.0 + (i % 7)).ToArray();
        a = a.Select(v => v / a.Sum()).ToArray();
        var options = new SinkhornOptions { Solver = SinkhornSolver.Sinkhorn, Epsilon = 0.05, EpsilonRelative = true, Tolerance = 1e-11, MaxIterations = 50_000 };
        using var single = EntropicOT.Solve(x, y, a, null, options);
        using var distributed = EntropicOT.Solve(x, y, a, null, options with { Backend = ComputeBackend.Mpi });
        Assert.Equal("mpi", distributed.Backend);
        Assert.True(single.Converged && distributed.Converged);
        Assert.Equal(single.Iterations, distributed.Iterations);
        Assert.True(Math.Abs(distributed.Value - single.Value) <= 1e-12 * Math.Abs(single.Value), $"{distributed.Value:R} vs {single.Value:R}");
        Assert.True(TestData.MaxRelativeError(distributed.F, single.F) < 1e-12, $"f differs by {TestData.MaxRelativeError(distributed.F, single.F):E2}");
        Assert.True(TestData.MaxRelativeError(distributed.G, single.G) < 1e-12, $"g differs by {TestData.MaxRelativeError(distributed.G, single.G):E2}");
        Assert.True(TestData.MaxRelativeError(distributed.Gradient(), single.Gradient()) < 1e-12);
        Assert.True(TestData.MaxRelativeError(distributed.SharpGradient(), single.SharpGradient()) < 1e-10);
        var direction = TestData.Cloud(53, 151, 3);
        Assert.True(TestData.MaxRelativeError(distributed.HessianVectorProduct(direction), single.HessianVectorProduct(direction)) < 1e-10);
        Assert.True(TestData.MaxRelativeError(distributed.Plan(), single.Plan()) < 1e-12);
        Assert.True(TestData.MaxRelativeError(distributed.Hessian().Matrix, single.Hessian().Matrix) < 1e-10);
    }

    [MpiFact]
    public void AProblemWithFewerRowsThanRanksLeavesTheEmptyRanksOutOfTheSums()
    {
        _ = Session;
        // One source point: every rank but one owns no rows and contributes −∞ to the column log-sum-exps.
        var x = TestData.Cloud(54, 1, 2);
        var y = TestData.Cloud(55, 6, 2, 0.3);
        var options = new SinkhornOptions { Solver = SinkhornSolver.Sinkhorn, Epsilon = 0.2, EpsilonRelative = true, Tolerance = 1e-12 };
        using var single = EntropicOT.Solve(x, y, options);
        using var distributed = EntropicOT.Solve(x, y, options with { Backend = ComputeBackend.Mpi });
        Assert.True(distributed.Converged);
        Assert.True(Math.Abs(distributed.Value - single.Value) <= 1e-12 * Math.Abs(single.Value), $"{distributed.Value:R} vs {single.Value:R}");
        Assert.True(TestData.MaxRelativeError(distributed.Plan(), single.Plan()) < 1e-12);
        Assert.True(TestData.MaxRelativeError(distributed.Gradient(), single.Gradient()) < 1e-12);
    }

    private static (double[,] X, double[,] Y)[] Problems() =>
        Enumerable.Range(0, 7).Select(k => (TestData.Cloud(60 + k, 20 + 13 * k, 2), TestData.Cloud(70 + k, 15 + 9 * k, 2, 0.3))).ToArray();

    [MpiFact]
    public void DistributedBatchReturnsTheSingleProcessBatchOnRankZero()
    {
        var problems = Problems();
        var options = new SinkhornOptions { Solver = SinkhornSolver.Sinkhorn, Epsilon = 0.1, EpsilonRelative = true, Tolerance = 1e-10 };
        var directions = problems.Select((p, k) => TestData.Cloud(80 + k, p.X.GetLength(0), 2)).ToArray();
        var items = Session.SolveBatch(problems, options, hessians: true, hvpDirections: directions, sharpValues: true);
        // EntropicOT.SolveBatch on the MPI backend is the same distributed batch.
        var viaBackend = EntropicOT.SolveBatch(problems, options with { Backend = ComputeBackend.Mpi });
        if (!Session.IsRoot)
        {
            Assert.Empty(items);
            Assert.Empty(viaBackend);
            return;
        }
        var reference = EntropicOT.SolveBatch(problems, options, hessians: true, hvpDirections: directions, sharpValues: true);
        Assert.Equal(reference.Length, items.Length);
        for (int k = 0; k < items.Length; k++)
        {
            Assert.Equal(k, items[k].Index);
            Assert.Equal(reference[k].Value, items[k].Value);
            Assert.Equal(reference[k].Iterations, items[k].Iterations);
            Assert.Equal(reference[k].MarginalError, items[k].MarginalError);
            Assert.Equal(reference[k].Gradient, items[k].Gradient);
            Assert.NotNull(items[k].SharpValue);
            Assert.Equal(reference[k].SharpValue, items[k].SharpValue);
            Assert.Equal(reference[k].F, items[k].F);
            Assert.Equal(reference[k].Hessian, items[k].Hessian);
            Assert.Equal(reference[k].HessianVectorProduct, items[k].HessianVectorProduct);
            Assert.Equal(reference[k].HessianVectorProductCg, items[k].HessianVectorProductCg);
            Assert.Equal(reference[k].Value, viaBackend[k].Value);
            Assert.Equal(reference[k].Gradient, viaBackend[k].Gradient);
        }
    }

    [MpiFact]
    public void AFailedProblemIsReportedWithItsIndexAndTheJobGoesOn()
    {
        var problems = Problems();
        // Problem 4's target spread 30 times wider: at this absolute ε (10⁻⁴ of its mean cost) and iteration cap it cannot
        // converge, and convergence is required.
        var wide = (double[,])problems[4].Y.Clone();
        for (int j = 0; j < wide.GetLength(0); j++)
            for (int k = 0; k < 2; k++) wide[j, k] *= 30;
        problems[4] = (problems[4].X, wide);
        var options = new SinkhornOptions { Epsilon = 0.5, EpsilonRelative = false, Solver = SinkhornSolver.Sinkhorn, Tolerance = 1e-6, MaxIterations = 300 };
        if (Session.IsRoot)
        {
            var failure = Assert.Throws<BatchProblemException>(() => Session.SolveBatch(problems, options));
            Assert.Equal(4, failure.ProblemIndex);
        }
        else Assert.Empty(Session.SolveBatch(problems, options));
        // Every rank is still in step: a collective after the failure completes.
        var after = Session.SolveBatch(problems.Take(3).ToList(), options with { AllowUnconverged = true });
        Assert.Equal(Session.IsRoot ? 3 : 0, after.Length);
    }

    [MpiFact]
    public void CommandLineSolveGradHvpAndBatchWithMpiWriteTheSingleProcessOutputsOnRankZeroOnly()
    {
        _ = Session;
        var dir = TestData.TempDirectory();
        string P(string name) => Path.Combine(dir, name);
        NpyFile.Write(P("x.npy"), TestData.Cloud(91, 83, 2));
        NpyFile.Write(P("y.npy"), TestData.Cloud(92, 64, 2, 0.5));
        NpyFile.Write(P("v.npy"), TestData.Cloud(93, 83, 2));
        Directory.CreateDirectory(P("pairs"));
        for (int k = 0; k < 5; k++)
        {
            NpyFile.Write(P($"pairs/p{k}.x.npy"), TestData.Cloud(94 + k, 10 + 7 * k, 2));
            NpyFile.Write(P($"pairs/p{k}.y.npy"), TestData.Cloud(99 + k, 12 + 3 * k, 2, 0.2));
        }
        string[] common = ["--x", P("x.npy"), "--y", P("y.npy"), "--eps", "0.1", "--eps-relative", "--tol", "1e-11"];
        foreach (var (suffix, mpi) in new[] { ("single", Array.Empty<string>()), ("mpi", new[] { "--mpi" }) })
        {
            Assert.Equal(0, Program.Run(["solve", .. common, "--json", P($"solve-{suffix}.json"), .. mpi]));
            Assert.Equal(0, Program.Run(["grad", .. common, "--out", P($"grad-{suffix}.npy"), .. mpi]));
            Assert.Equal(0, Program.Run(["hvp", .. common, "--direction", P("v.npy"), "--out", P($"hvp-{suffix}.npy"), .. mpi]));
            Assert.Equal(0, Program.Run(["batch", "--pairs", P("pairs"), .. common[4..], "--json", P($"batch-{suffix}.json"), .. mpi]));
        }
        if (!Session.IsRoot)
        {
            Assert.False(File.Exists(P("solve-mpi.json")) || File.Exists(P("grad-mpi.npy")) || File.Exists(P("hvp-mpi.npy")) || File.Exists(P("batch-mpi.json")));
            return;
        }
        using var single = JsonDocument.Parse(File.ReadAllText(P("solve-single.json")));
        using var distributed = JsonDocument.Parse(File.ReadAllText(P("solve-mpi.json")));
        Assert.Equal("mpi", distributed.RootElement.GetProperty("backend").GetString());
        foreach (var field in new[] { "value", "sharp", "divergence" })
        {
            double expected = single.RootElement.GetProperty(field).GetDouble(), actual = distributed.RootElement.GetProperty(field).GetDouble();
            Assert.True(Math.Abs(actual - expected) <= 1e-12 * Math.Abs(expected), $"{field}: {actual:R} vs {expected:R}");
        }
        Assert.True(TestData.MaxRelativeError(NpyFile.Read(P("grad-mpi.npy")).ToMatrix(), NpyFile.Read(P("grad-single.npy")).ToMatrix()) < 1e-12);
        Assert.True(TestData.MaxRelativeError(NpyFile.Read(P("hvp-mpi.npy")).ToMatrix(), NpyFile.Read(P("hvp-single.npy")).ToMatrix()) < 1e-10);
        using var batchSingle = JsonDocument.Parse(File.ReadAllText(P("batch-single.json")));
        using var batchMpi = JsonDocument.Parse(File.ReadAllText(P("batch-mpi.json")));
        Assert.Equal(Session.Size, batchMpi.RootElement.GetProperty("ranks").GetInt32());
        Assert.Equal(batchSingle.RootElement.GetProperty("results").EnumerateArray().Select(r => r.GetProperty("value").GetDouble()),
            batchMpi.RootElement.GetProperty("results").EnumerateArray().Select(r => r.GetProperty("value").GetDouble()));
    }
}
