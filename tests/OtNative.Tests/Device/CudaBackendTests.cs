using OtNative.Core;
using Xunit;

namespace OtNative.Tests;

/// <summary>A test that needs a CUDA device; skipped with the driver's reason where there is none.</summary>
public sealed class CudaFactAttribute : FactAttribute
{
    public CudaFactAttribute()
    {
        if (CudaBackend.Instance.UnavailableReason is { Value: var reason }) Skip = "no CUDA device: " + reason;
    }
}

/// <summary>math.md §7.8: every CUDA primitive and result equals the CPU reference on the same inputs (relative 1e-10).</summary>
public class CudaBackendTests
{
    private static readonly IBackend Cpu = CpuBackend.Instance;
    private static readonly IBackend Gpu = CudaBackend.Instance;

    private static OtProblem Problem(int seed, int n, int m, int d)
    {
        var rng = new Random(seed);
        double[,] Cloud(int count, double shift) => (double[,])TestData.Cloud(rng.Next(), count, d, shift).Clone();
        var a = Enumerable.Range(0, n).Select(_ => 0.5 + rng.NextDouble()).ToArray();
        var total = a.Sum();
        return OtProblemModule.create(Matrix.OfArray2D(Cloud(n, 0)), Matrix.OfArray2D(Cloud(m, 0.3)), Microsoft.FSharp.Core.FSharpOption<double[]>.Some(a.Select(v => v / total).ToArray()), null);
    }

    private static double Rel(double[] a, double[] b) =>
        Math.Sqrt(a.Zip(b).Sum(p => (p.First - p.Second) * (p.First - p.Second))) / Math.Max(1e-300, Math.Sqrt(b.Sum(v => v * v)));

    [CudaFact]
    public void PrimitivesEqualTheCpuReference()
    {
        foreach (var (n, m, d) in new[] { (1, 1, 1), (37, 300, 2), (1000, 777, 3), (129, 128, 8) })
        {
            var p = Problem(n + m, n, m, d);
            using var cpu = Cpu.Prepare(p);
            using var gpu = Gpu.Prepare(p);
            var eps = 0.1 * OtProblemModule.meanCost(p);
            var rng = new Random(5);
            var f = Enumerable.Range(0, n).Select(_ => rng.NextDouble()).ToArray();
            var g = Enumerable.Range(0, m).Select(_ => rng.NextDouble()).ToArray();
            foreach (var side in new[] { Side.Rows, Side.Cols })
            {
                var other = side.IsRows ? g : f;
                var count = side.IsRows ? n : m;
                double[] rc = new double[count], rg = new double[count];
                cpu.Softmin(side, eps, other, rc, CancellationToken.None);
                gpu.Softmin(side, eps, other, rg, CancellationToken.None);
                Assert.True(Rel(rg, rc) < 1e-10, $"softmin {side} n={n} m={m} d={d}: {Rel(rg, rc)}");
                var v = new Matrix(side.IsRows ? m : n, 20, Enumerable.Range(0, (side.IsRows ? m : n) * 20).Select(_ => rng.NextDouble() - 0.5).ToArray());
                foreach (var weighted in new[] { false, true })
                    Assert.True(Rel(gpu.Apply(side, eps, f, g, v, weighted).Data, cpu.Apply(side, eps, f, g, v, weighted).Data) < 1e-10, $"apply {side} {weighted}");
            }
            Assert.True(Rel(gpu.Plan(eps, f, g).Data, cpu.Plan(eps, f, g).Data) < 1e-10, "plan");
        }
    }

    [CudaFact]
    public void PairContractionKernelsEqualTheReference()
    {
        // d = 8 splits every contraction into several launches (the kernels' accumulator and tile limits).
        foreach (var (n, m, d, k) in new[] { (1, 1, 1, 1), (37, 300, 2, 5), (1000, 777, 3, 4), (129, 128, 8, 3) })
        {
            var p = Problem(n * m + k, n, m, d);
            using var gpu = Gpu.Prepare(p);
            var kernels = (IPairContractions)gpu;
            var reference = PairContractions.reference(p);
            var eps = 0.1 * OtProblemModule.meanCost(p);
            var rng = new Random(6);
            double[] Draw(int count) => Enumerable.Range(0, count).Select(_ => rng.NextDouble() - 0.5).ToArray();
            double[] f = Draw(n), g = Draw(m);
            var w = new Matrix(m, k, Draw(m * k));
            var v = new Matrix(n, k * d, Draw(n * k * d));
            var ratios = Draw(n * d);
            Assert.True(Rel(kernels.ContractRows(eps, f, g, w).Data, reference.ContractRows(eps, f, g, w).Data) < 1e-10, $"contract n={n} m={m} d={d}");
            Assert.True(Rel(kernels.DotCols(eps, f, g, v).Data, reference.DotCols(eps, f, g, v).Data) < 1e-10, $"dot n={n} m={m} d={d}");
            Assert.True(Rel(kernels.OuterRows(eps, f, g, v).Data, reference.OuterRows(eps, f, g, v).Data) < 1e-10, $"outer n={n} m={m} d={d}");
            Assert.True(Rel(kernels.RBlock(eps, f, g, ratios, 0.7).Data, reference.RBlock(eps, f, g, ratios, 0.7).Data) < 1e-10, $"R block n={n} m={m} d={d}");
        }
    }

    [CudaFact]
    public void OneBatchedHalfStepEqualsEachProblemsOwn()
    {
        var sizes = new[] { (1, 1), (127, 3), (128, 129), (129, 5), (300, 200), (64, 64), (7, 300) };
        var problems = sizes.Select((s, k) => Problem(100 + k, s.Item1, s.Item2, 3)).ToArray();
        using var batch = CudaBackend.Instance.PrepareBatch(problems);
        var rng = new Random(9);
        var eps = problems.Select(p => (0.05 + rng.NextDouble()) * OtProblemModule.meanCost(p)).ToArray();
        foreach (var side in new[] { Side.Rows, Side.Cols })
        {
            var others = problems.Select(p => Enumerable.Range(0, side.IsRows ? p.M : p.N).Select(_ => rng.NextDouble() - 0.5).ToArray()).ToArray();
            var results = problems.Select(p => new double[side.IsRows ? p.N : p.M]).ToArray();
            batch.Softmin(side, eps, others, results);
            for (int k = 0; k < problems.Length; k++)
            {
                using var cpu = Cpu.Prepare(problems[k]);
                var expected = new double[results[k].Length];
                cpu.Softmin(side, eps[k], others[k], expected, CancellationToken.None);
                Assert.True(Rel(results[k], expected) < 1e-10, $"batched softmin {side}, problem {k}: {Rel(results[k], expected)}");
            }
        }
    }

    [CudaFact]
    public void ABatchInLockstepOnTheGpuEqualsTheCpuBatch()
    {
        var problems = Enumerable.Range(0, 40).Select(k => Problem(200 + k, 20 + 3 * k, 90 - k, 3)).ToArray();
        var opts = Core.SinkhornOptions.Default;
        var gpu = Batch.solve(Gpu, problems, opts, BatchRequest.Default);
        var cpu = Batch.solve(Cpu, problems, opts, BatchRequest.Default);
        for (int k = 0; k < problems.Length; k++)
        {
            Assert.Equal(cpu[k].Solution.Iterations, gpu[k].Solution.Iterations);
            Assert.True(Rel(gpu[k].Solution.F, cpu[k].Solution.F) < 1e-10, $"problem {k}: f");
            Assert.True(Rel(gpu[k].Gradient.Value.Data, cpu[k].Gradient.Value.Data) < 1e-10, $"problem {k}: gradient");
        }
    }

    [CudaFact]
    public void SolutionsGradientsHvpsAndHessiansEqualTheCpuReference() => AssertSolutionsAgree(Problem(3, 300, 250, 2));

    /// <summary>The relaxed (κ-shrunk) updates, their marginal test and the penalised H diagonals on the device (math.md §9).</summary>
    [CudaFact]
    public void UnbalancedSolutionsGradientsHvpsAndHessiansEqualTheCpuReference() =>
        AssertSolutionsAgree(OtProblemModule.relaxed(0.3, double.PositiveInfinity, Problem(4, 300, 250, 2)));

    private static void AssertSolutionsAgree(OtProblem p)
    {
        var opts = Core.SinkhornOptions.Default;
        using var rc = Sinkhorn.solve(Cpu, p, opts);
        using var rg = Sinkhorn.solve(Gpu, p, opts);
        Assert.Equal(rc.Iterations, rg.Iterations);
        Assert.True(Rel(rg.F, rc.F) < 1e-10);
        Assert.True(Rel(Gradients.eot(rg).Data, Gradients.eot(rc).Data) < 1e-10);
        var dir = new Matrix(300, 2, Enumerable.Range(0, 600).Select(i => Math.Sin(i)).ToArray());
        var hc = new Core.HessianOperator(rc, Core.CgOptions.Default).Apply(dir).Item1;
        var hg = new Core.HessianOperator(rg, Core.CgOptions.Default).Apply(dir).Item1;
        Assert.True(Rel(hg.Data, hc.Data) < 1e-9);
        var dc = Core.Hessian.compute(rc, HessianOptions.Default).Hessian;
        var dg = Core.Hessian.compute(rg, HessianOptions.Default).Hessian;
        Assert.True(Rel(dg.Data, dc.Data) < 1e-9);
    }

    [CudaFact]
    public void CudaLinearAlgebraAgreesWithTheManagedProvider()
    {
        var gpu = Gpu.LinearAlgebra;
        var cpu = LinearAlgebraProviders.managed;
        var rng = new Random(2);
        var a = new Matrix(70, 40, Enumerable.Range(0, 2800).Select(_ => rng.NextDouble() - 0.5).ToArray());
        var b = new Matrix(70, 30, Enumerable.Range(0, 2100).Select(_ => rng.NextDouble() - 0.5).ToArray());
        Assert.True(Rel(gpu.Multiply(a, true, b, false).Data, cpu.Multiply(a, true, b, false).Data) < 1e-12);
        Assert.True(Rel(gpu.Multiply(b, true, a, false).Data, cpu.Multiply(b, true, a, false).Data) < 1e-12);
        Assert.True(Rel(gpu.Gram(a, false).Data, cpu.Gram(a, false).Data) < 1e-12);
        var spd = gpu.Gram(a, true);
        for (int i = 0; i < 40; i++) spd[i, i] += 1.0;
        var (values, vectors) = gpu.SymmetricEigen(spd).ToValueTuple();
        var (cpuValues, _) = cpu.SymmetricEigen(spd).ToValueTuple();
        Assert.True(Rel(values, cpuValues) < 1e-12);
        var v0 = Enumerable.Range(0, 40).Select(i => vectors[i, 0]).ToArray();
        var sv0 = Enumerable.Range(0, 40).Select(i => Enumerable.Range(0, 40).Sum(j => spd[i, j] * v0[j])).ToArray();
        Assert.True(Rel(sv0, v0.Select(v => v * values[0]).ToArray()) < 1e-10);
        var l = gpu.CholeskyFactor(spd).Value;
        Assert.True(Rel(l.Data, cpu.CholeskyFactor(spd).Value.Data) < 1e-12);
        var rhs = new Matrix(40, 3, Enumerable.Range(0, 120).Select(_ => rng.NextDouble()).ToArray());
        Assert.True(Rel(gpu.SolveLower(l, rhs, false).Data, cpu.SolveLower(l, rhs, false).Data) < 1e-12);
        Assert.True(Rel(gpu.SolveLower(l, rhs, true).Data, cpu.SolveLower(l, rhs, true).Data) < 1e-12);
        Assert.Null(gpu.CholeskyFactor(new Matrix(2, 2, [1.0, 2.0, 2.0, 1.0])));
    }
}
