using System.ComponentModel;
using System.Diagnostics;
using OtNative.Applications;
using OtNative.Core;
using OtNative.Terminal;
using Spectre.Console;
using Spectre.Console.Cli;

namespace OtNative.Benchmarks.Commands;

/// <summary>
/// <c>otnative bench gpu</c>: the CUDA backend's LSE half-step throughput (pair evaluations per second), full solve
/// time, HVP time and dense Hessian time (cuBLAS/cuSOLVER), each against a PyTorch float64 log-domain Sinkhorn
/// (<c>torch.logsumexp</c> over the materialised cost) in the same call where its memory allows.
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
        var gpu = CudaBackend.Instance;
        if (gpu.UnavailableReason is { Value: var reason }) throw new NotSupportedException("bench gpu needs a CUDA device: " + reason);
        IBackend backend = gpu;
        string torchReason = "skipped (--no-torch)";
        var torch = settings.NoTorch ? null : TorchBaseline.TryFind(out torchReason);
        AnsiConsole.MarkupLine($"[bold]bench gpu[/]: {Markup.Escape(backend.Description)}; baseline: {Markup.Escape(torchReason)}");
        var stream = ListOption.Ints(settings.Sizes).Select(n => Streamed(backend, n, torch, torchReason)).ToList();
        var dense = ListOption.Ints(settings.HessianSizes).Select(n => Dense(backend, n, torch, torchReason)).ToList();
        var batch = settings.BatchProblems > 0 ? Batched(backend, settings.BatchProblems) : null;
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
        JsonReport.Save(settings.Json, new { benchmark = "gpu", device = backend.Description, baseline = torchReason, stream, dense, batch });
        return 0;
    }

    private static StreamRow Streamed(IBackend backend, int n, PythonBaseline? torch, string torchReason)
    {
        var rng = new Random(n);
        var (x, y) = UniformClouds.Pair(rng, n, 3);
        var problem = OtProblemModule.create(Matrix.OfArray2D(x), Matrix.OfArray2D(y), null, null);
        var eps = 0.05 * OtProblemModule.meanCost(problem);
        using var transport = backend.Prepare(problem);
        var g = new double[n];
        var f = new double[n];
        transport.Softmin(Side.Rows, eps, g, f, CancellationToken.None);
        int reps = n <= 20_000 ? 20 : 3;
        var sw = Stopwatch.StartNew();
        for (int r = 0; r < reps; r++) transport.Softmin(Side.Rows, eps, g, f, CancellationToken.None);
        var halfMs = sw.Elapsed.TotalMilliseconds / reps;
        var solve = ProgressDisplay.Run($"solve n={n}", () => "CUDA", () =>
            Sinkhorn.solveWith(transport, Core.SinkhornOptions.Default));
        sw.Restart();
        var (_, report) = new Core.HessianOperator(solve, Core.CgOptions.Default).Apply(Synthetic.uniformCube(rng, n, 3)).ToValueTuple();
        var hvp = sw.Elapsed.TotalSeconds;
        double? torchMs = null;
        string? note = torch is null ? torchReason : null;
        if (torch is not null) torchMs = torch.MillisecondsPerHalfStep(x, y, eps, reps, out note);
        AnsiConsole.MarkupLine($"  n = {n}: half-step {halfMs:G4} ms ({(double)n * n / (halfMs / 1000):E2} pairs/s), solve {solve.Elapsed.TotalSeconds:F2} s, HVP {hvp:F2} s");
        return new StreamRow(n, 3, halfMs, (double)n * n / (halfMs / 1000), torchMs, note, solve.Iterations, solve.Elapsed.TotalSeconds, solve.MarginalError, hvp, report.Iterations);
    }

    private static BatchRow Batched(IBackend backend, int count)
    {
        var rng = new Random(64);
        var problems = Enumerable.Range(0, count).Select(_ => OtProblemModule.create(Synthetic.uniformCube(rng, 64, 3), Synthetic.uniformCube(rng, 64, 3), null, null)).ToArray();
        var options = Core.SinkhornOptions.Default;
        Batch.solve(backend, problems[..Math.Min(count, 32)], options, BatchRequest.Default);
        var sw = Stopwatch.StartNew();
        var gpu = Batch.solve(backend, problems, options, BatchRequest.Default);
        var gpuSeconds = sw.Elapsed.TotalSeconds;
        sw.Restart();
        var cpu = Batch.solve(CpuBackend.Instance, problems, options, BatchRequest.Default);
        var cpuSeconds = sw.Elapsed.TotalSeconds;
        var difference = gpu.Zip(cpu).Max(p => Math.Abs(p.First.Solution.Value - p.Second.Solution.Value));
        AnsiConsole.MarkupLine($"  batch of {count}: GPU {gpuSeconds:F2} s, CPU {cpuSeconds:F2} s");
        return new BatchRow(count, 64, gpuSeconds, count / gpuSeconds, cpuSeconds, count / cpuSeconds, difference);
    }

    private static HessianRow Dense(IBackend backend, int n, PythonBaseline? torch, string torchReason)
    {
        var rng = new Random(n);
        var problem = OtProblemModule.create(Synthetic.uniformCube(rng, n, 2), Synthetic.uniformCube(rng, n, 2), null, null);
        using var res = Sinkhorn.solve(backend, problem, Core.SinkhornOptions.Default);
        var options = new HessianOptions(Core.HessianMethod.Schur, 1e-10, false, CancellationToken.None);
        Core.Hessian.compute(res, options);
        var sw = Stopwatch.StartNew();
        var h = Core.Hessian.compute(res, options);
        var seconds = sw.Elapsed.TotalSeconds;
        AnsiConsole.MarkupLine($"  dense Hessian n = {n}: {seconds:F2} s");
        string? note = torch is null ? torchReason : null;
        // The same plan: the solved (centred) clouds and their potentials.
        var baseline = torch?.AlgorithmOne(res.Problem.X.ToArray2D(), res.Problem.Y.ToArray2D(), res.F, res.G, problem.A, problem.B, res.Epsilon,
            options.Threshold, 2, out note);
        return new HessianRow(n, seconds, h.Factorisation.ToString(), Core.Hessian.marginalError(h.Hessian, 2, problem.A),
            baseline?.Seconds, baseline?.MarginalError, note);
    }
}
