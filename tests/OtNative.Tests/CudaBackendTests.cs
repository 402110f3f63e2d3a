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
    public void SolutionsGradientsHvpsAndHessiansEqualTheCpuReference()
    {
        var p = Problem(3, 300, 250, 2);
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
