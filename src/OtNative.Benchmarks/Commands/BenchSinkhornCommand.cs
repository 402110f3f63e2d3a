using System.ComponentModel;
using OtNative.Applications;
using OtNative.Core;
using OtNative.Terminal;
using Spectre.Console;
using Spectre.Console.Cli;

namespace OtNative.Benchmarks.Commands;

/// <summary>
/// <c>otnative bench sinkhorn</c>: per-iteration time of the CPU log-domain solver on uniform clouds
/// in the unit square (d = 2, ε = 0.05 × mean cost), against POT's sinkhorn_log and PyTorch's CPU logsumexp
/// Sinkhorn on the same data in the same run, and against the machine's exp-throughput limit (an iteration needs
/// 2nm exponentials; their cost per element is measured first, on one core).
/// </summary>
public sealed class BenchSinkhornCommand : Command<BenchSinkhornCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandOption("--sizes <LIST>")]
        [Description("Comma-separated n = m values (default 1000,4000,10000).")]
        [DefaultValue("1000,4000,10000")]
        public string Sizes { get; init; } = "1000,4000,10000";

        [CommandOption("--iterations <N>")]
        [Description("Timed iterations per size for OtNative (default 20).")]
        [DefaultValue(20)]
        public int Iterations { get; init; } = 20;

        [CommandOption("--pot-iterations <N>")]
        [Description("Timed iterations per size for POT (default 5).")]
        [DefaultValue(5)]
        public int PotIterations { get; init; } = 5;

        [CommandOption("--no-pot")]
        [Description("Skip the POT baseline.")]
        public bool NoPot { get; init; }

        [CommandOption("--no-torch")]
        [Description("Skip the PyTorch CPU baseline.")]
        public bool NoTorch { get; init; }

        [CommandOption("--json <PATH>")]
        [Description("JSON output (default bench-sinkhorn.json).")]
        [DefaultValue("bench-sinkhorn.json")]
        public string Json { get; init; } = "bench-sinkhorn.json";
    }

    /// <summary>One size's measurements. <c>LimitMsPerIteration</c> is 2nm exponentials at the measured cost per core, over the cores.</summary>
    public sealed record Row(int N, int D, double Epsilon, int Iterations, double MsPerIteration, double PairsPerSecond,
        double? PotMsPerIteration, double? SpeedupVsPot, string? PotNote,
        double? TorchMsPerIteration, double? SpeedupVsTorch, string? TorchNote, double LimitMsPerIteration, double FractionOfLimit);

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellation)
    {
        var sizes = ListOption.Ints(settings.Sizes);
        string potReason = "skipped (--no-pot)";
        var pot = settings.NoPot ? null : PotBaseline.TryFind(out potReason);
        string torchReason = "skipped (--no-torch)";
        var torch = settings.NoTorch ? null : TorchBaseline.TryFind(out torchReason);
        double expNs = SimdMath.nanosecondsPerExp(CpuBackend.Instance.Width);
        int cores = Parallelism.degree;
        AnsiConsole.MarkupLine($"[bold]bench sinkhorn[/]: {Markup.Escape(((IBackend)CpuBackend.Instance).Description)}; baselines: {Markup.Escape(potReason)}; {Markup.Escape(torchReason)}");
        AnsiConsole.MarkupLine($"  hardware limit: exp costs {expNs:F3} ns per element on one core; an iteration's 2nm exponentials on {cores} cores bound it at 2nm × {expNs:F3} ns / {cores}");
        var rows = new List<Row>();
        foreach (var n in sizes)
        {
            var rng = new Random(n);
            var (x, y) = UniformClouds.Pair(rng, n, 2);
            var timed = new SinkhornOptions { Epsilon = 0.05, EpsilonRelative = true, Tolerance = 1e-300, MaxIterations = settings.Iterations };
            ProgressDisplay.Run($"OtNative n={n}", () => "warm-up", () =>
            {
                WarmUp.ForASecond(() => EntropicOT.Solve(x, y, timed).Dispose());
                return 0;
            });
            using var result = ProgressDisplay.Run($"OtNative n={n}", timed, o => EntropicOT.Solve(x, y, o));
            double ms = result.Elapsed.TotalMilliseconds / result.Iterations;
            double? potMs = null;
            string? note = pot is null ? potReason : null;
            if (pot is not null)
            {
                potMs = ProgressDisplay.Run($"POT n={n}", () => "running", () => pot.MillisecondsPerIteration(x, y, result.Epsilon, settings.PotIterations, out note));
            }
            double? torchMs = null;
            string? torchNote = torch is null ? torchReason : null;
            if (torch is not null)
                torchMs = ProgressDisplay.Run($"PyTorch n={n}", () => "running", () => torch.CpuMillisecondsPerIteration(x, y, result.Epsilon, settings.PotIterations, out torchNote));
            double limit = 2.0 * n * n * expNs / cores / 1e6;
            var row = new Row(n, 2, result.Epsilon, result.Iterations, ms, 2.0 * n * n / (ms / 1000.0), potMs, potMs / ms, note,
                torchMs, torchMs / ms, torchNote, limit, limit / ms);
            rows.Add(row);
            AnsiConsole.MarkupLine($"  n = {n}: {ms:F2} ms/iter (limit {limit:F2})" + (potMs is { } p ? $", POT {p:F1} ms/iter ({p / ms:F1}×)" : "")
                                   + (torchMs is { } t ? $", PyTorch {t:F1} ms/iter ({t / ms:F1}×)" : ""));
        }
        var table = new Table().Title("Sinkhorn per-iteration time (CPU, float64, d = 2, ε = 0.05 × mean cost)")
            .AddColumns("n = m", "OtNative ms/iter", "exp limit ms/iter", "pair evals/s", "POT sinkhorn_log ms/iter", "speed-up", "PyTorch ms/iter", "speed-up");
        static string Ratio(double? v) => v is { } s ? $"{s:F1}×" : "—";
        static string Ms(double? v) => v is { } p ? $"{p:F1}" : "—";
        foreach (var r in rows)
            table.AddRow($"{r.N}", $"{r.MsPerIteration:F2}", $"{r.LimitMsPerIteration:F2}", $"{r.PairsPerSecond:E2}",
                Ms(r.PotMsPerIteration), Ratio(r.SpeedupVsPot), Ms(r.TorchMsPerIteration), Ratio(r.SpeedupVsTorch));
        AnsiConsole.Write(table);
        JsonReport.Save(settings.Json, new
        {
            benchmark = "sinkhorn", machine = ((IBackend)CpuBackend.Instance).Description, baseline = potReason, torchBaseline = torchReason,
            expNanosecondsPerElement = expNs, cores, rows,
        });
        return 0;
    }
}
