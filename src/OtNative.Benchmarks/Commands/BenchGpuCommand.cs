using System.ComponentModel;
using System.Diagnostics;
using OtNative.Terminal;
using Spectre.Console;
using Spectre.Console.Cli;

namespace OtNative.Benchmarks.Commands;

/// <summary>
/// <c>otnative bench gpu</c>: the CUDA backend's LSE half-step throughput (pair evaluations per second, from a solve held
/// to a fixed number of iterations: two half-steps and a marginal check each), full solve time, HVP time and dense
/// Hessian time (cuBLAS/cuSOLVER), each against a PyTorch float64 log-domain Sinkhorn (<c>torch.logsumexp</c> over the
/// materialised cost) in the same call where its memory allows. Everything goes through the public API.
/// </summary>
public sealed class BenchGpuCommand : Command<BenchGpuCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandOption("--sizes <LIST>")]
        [Description("n = m for the half-step, solve and HVP (default 10000,100000), d = 3.")]
        [DefaultValue("10000,100000")]
        public string Sizes { get; init; } = "10000,100000";

        [CommandOption("--hessian-sizes <LIST>")]
        [Description("n = m for the dense Hessian (default 1600,6400), d = 2.")]
        [DefaultValue("1600,6400")]
        public string HessianSizes { get; init; } = "1600,6400";

        [CommandOption("--batch-problems <N>")]
        [Description("Problems (n = m = 64, d = 3) of the batch solved in lockstep, against the CPU batch (default 1000; 0 skips).")]
        [DefaultValue(1000)]
        public int BatchProblems { get; init; } = 1000;

        [CommandOption("--no-torch")]
        [Description("Skip the PyTorch baseline.")]
        public bool NoTorch { get; init; }

        [CommandOption("--json <PATH>")]
        [Description("JSON output (default bench-gpu.json).")]
        [DefaultValue("bench-gpu.json")]
        public string Json { get; init; } = "bench-gpu.json";
    }

    /// <summary>One size's streamed measurements.</summary>
    public sealed record StreamRow(int N, int D, double HalfStepMs, double PairsPerSecond, double? TorchHalfStepMs, string? TorchNote,
        int SolveIterations, double SolveSeconds, double SolveMarginalError, double HvpSeconds, int CgIterations);

    /// <summary>One dense Hessian size.</summary>
    public sealed record HessianRow(int N, double Seconds, string Factorisation, double MarginalError, double? TorchSeconds,
        double? TorchMarginalError, string? TorchNote);

    /// <summary>A batch of small problems (values and gradients): in lockstep on the GPU against the CPU's batch.</summary>
    public sealed record BatchRow(int Problems, int N, double GpuSeconds, double GpuProblemsPerSecond, double CpuSeconds,
        double CpuProblemsPerSecond, double MaxValueDifference);

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellation)
    {
        if (!Backends.IsCudaAvailable) throw new NotSupportedException("bench gpu needs a CUDA device: the CUDA driver is " + OtNativeEnvironment.Describe().CudaDriver);
        var device = OtNativeEnvironment.Describe().CudaBackend;
        string torchReason = "skipped (--no-torch)";
        var torch = settings.NoTorch ? null : TorchBaseline.TryFind(out torchReason);
        AnsiConsole.MarkupLine($"[bold]bench gpu[/]: {Markup.Escape(device)}; baseline: {Markup.Escape(torchReason)}");
        var stream = ListOption.Ints(settings.Sizes).Select(n => Streamed(n, torch, torchReason)).ToList();
        var dense = ListOption.Ints(settings.HessianSizes).Select(n => Dense(n, torch, torchReason)).ToList();
        var batch = settings.BatchProblems > 0 ? Batched(settings.BatchProblems) : null;
        var t1 = new Table().Title("CUDA streamed primitives (float64, d = 3, ε = 0.05 × mean cost)")
            .AddColumns("n = m", "half-step ms", "pairs/s", "PyTorch half-step ms", "speed-up", "solve s (iters)", "HVP s (CG)");
        foreach (var r in stream)
            t1.AddRow($"{r.N}", $"{r.HalfStepMs:G4}", $"{r.PairsPerSecond:E2}", r.TorchHalfStepMs is { } t ? (double.IsPositiveInfinity(t) ? "out of memory" : $"{t:G4}") : Markup.Escape(r.TorchNote ?? "—"),
                r.TorchHalfStepMs is { } u && double.IsFinite(u) ? $"{u / r.HalfStepMs:F1}×" : "—", $"{r.SolveSeconds:F2} ({r.SolveIterations})", $"{r.HvpSeconds:F2} ({r.CgIterations})");
        AnsiConsole.Write(t1);
        var t2 = new Table().Title("Dense Hessian on the GPU (Schur fast path, cuBLAS/cuSOLVER, d = 2) against Algorithm 1 in PyTorch")
            .AddColumns("n = m", "seconds", "factorisation", "marginal error", "PyTorch Algorithm 1 s", "speed-up", "PyTorch marginal error");
        foreach (var r in dense)
            t2.AddRow($"{r.N}", $"{r.Seconds:F2}", r.Factorisation, $"{r.MarginalError:E2}",
                r.TorchSeconds is { } t ? (double.IsPositiveInfinity(t) ? "out of memory" : $"{t:F2}") : Markup.Escape(r.TorchNote ?? "—"),
                r.TorchSeconds is { } u && double.IsFinite(u) ? $"{u / r.Seconds:F1}×" : "—", r.TorchMarginalError is { } e && double.IsFinite(e) ? $"{e:E2}" : "—");
        AnsiConsole.Write(t2);
        if (batch is not null)
            AnsiConsole.Write(new Table().Title("A batch of small problems, values and gradients (n = m = 64, d = 3): one launch per half-step on the GPU")
                .AddColumns("problems", "GPU s", "GPU problems/s", "CPU batch s", "CPU problems/s", "max |value difference|")
                .AddRow($"{batch.Problems}", $"{batch.GpuSeconds:F2}", $"{batch.GpuProblemsPerSecond:F0}", $"{batch.CpuSeconds:F2}", $"{batch.CpuProblemsPerSecond:F0}", $"{batch.MaxValueDifference:E2}"));
        JsonReport.Save(settings.Json, new { benchmark = "gpu", device, baseline = torchReason, stream, dense, batch });
        return 0;
    }

    /// <summary>The options of every solve here: CUDA, ε = 0.05 × mean cost.</summary>
    private static SinkhornOptions OnGpu(double tolerance = 1e-6, int maxIterations = 10_000) =>
        new() { Solver = SinkhornSolver.Sinkhorn, AllowUnconverged = true, Backend = ComputeBackend.Cuda, Epsilon = 0.05, EpsilonRelative = true, Tolerance = tolerance, MaxIterations = maxIterations };

    private static StreamRow Streamed(int n, PythonBaseline? torch, string torchReason)
    {
        var rng = new Random(n);
        var (x, y) = UniformClouds.Pair(rng, n, 3);
        int reps = n <= 20_000 ? 20 : 3;
        // A solve held to `reps` iterations (a tolerance it cannot reach), after one to warm up: 2·reps half-steps.
        using (EntropicOT.Solve(x, y, OnGpu(1e-300, 1))) { }
        double halfMs;
        double eps;
        using (var held = EntropicOT.Solve(x, y, OnGpu(1e-300, reps)))
        {
            halfMs = held.Elapsed.TotalMilliseconds / (2.0 * held.Iterations);
            eps = held.Epsilon;
        }
        using var solve = ProgressDisplay.Run($"solve n={n}", () => "CUDA", () => EntropicOT.Solve(x, y, OnGpu()));
        var sw = Stopwatch.StartNew();
        var report = solve.HessianOperator().Apply(UniformClouds.Cloud(rng, n, 3)).Cg;
        var hvp = sw.Elapsed.TotalSeconds;
        double? torchMs = null;
        string? note = torch is null ? torchReason : null;
        if (torch is not null) torchMs = torch.MillisecondsPerHalfStep(x, y, eps, reps, out note);
        AnsiConsole.MarkupLine($"  n = {n}: half-step {halfMs:G4} ms ({(double)n * n / (halfMs / 1000):E2} pairs/s), solve {solve.Elapsed.TotalSeconds:F2} s, HVP {hvp:F2} s");
        return new StreamRow(n, 3, halfMs, (double)n * n / (halfMs / 1000), torchMs, note, solve.Iterations, solve.Elapsed.TotalSeconds, solve.MarginalError, hvp, report.Iterations);
    }

    private static BatchRow Batched(int count)
    {
        var rng = new Random(64);
        var problems = Enumerable.Range(0, count).Select(_ => (UniformClouds.Cloud(rng, 64, 3), UniformClouds.Cloud(rng, 64, 3))).ToArray();
        var gpuOptions = OnGpu();
        var cpuOptions = gpuOptions with { Backend = ComputeBackend.Cpu };
        EntropicOT.SolveBatch(problems[..Math.Min(count, 32)], gpuOptions);
        var sw = Stopwatch.StartNew();
        var gpu = EntropicOT.SolveBatch(problems, gpuOptions);
        var gpuSeconds = sw.Elapsed.TotalSeconds;
        sw.Restart();
        var cpu = EntropicOT.SolveBatch(problems, cpuOptions);
        var cpuSeconds = sw.Elapsed.TotalSeconds;
        var difference = gpu.Zip(cpu).Max(p => Math.Abs(p.First.Value - p.Second.Value));
        AnsiConsole.MarkupLine($"  batch of {count}: GPU {gpuSeconds:F2} s, CPU {cpuSeconds:F2} s");
        return new BatchRow(count, 64, gpuSeconds, count / gpuSeconds, cpuSeconds, count / cpuSeconds, difference);
    }

    private static HessianRow Dense(int n, PythonBaseline? torch, string torchReason)
    {
        var rng = new Random(n);
        var x = UniformClouds.Cloud(rng, n, 2);
        var y = UniformClouds.Cloud(rng, n, 2);
        using var res = EntropicOT.Solve(x, y, OnGpu());
        const double threshold = 1e-10;
        res.Hessian(HessianMethod.Schur, threshold);
        var sw = Stopwatch.StartNew();
        var h = res.Hessian(HessianMethod.Schur, threshold);
        var seconds = sw.Elapsed.TotalSeconds;
        AnsiConsole.MarkupLine($"  dense Hessian n = {n}: {seconds:F2} s");
        string? note = torch is null ? torchReason : null;
        // The same plan: the clouds (the cost, hence the potentials, does not change under the solve's joint centring)
        // and the solve's potentials.
        var uniform = Enumerable.Repeat(1.0 / n, n).ToArray();
        var baseline = torch?.AlgorithmOne(x, y, res.F.ToArray(), res.G.ToArray(), uniform, uniform, res.Epsilon, threshold, 2, out note);
        return new HessianRow(n, seconds, h.Factorisation.ToString(), h.RowSumError, baseline?.Seconds, baseline?.MarginalError, note);
    }
}
