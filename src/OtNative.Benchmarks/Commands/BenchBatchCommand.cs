using System.ComponentModel;
using System.Diagnostics;
using OtNative.Applications;
using OtNative.Core;
using OtNative.Terminal;
using Spectre.Console;
using Spectre.Console.Cli;

namespace OtNative.Benchmarks.Commands;

/// <summary>
/// <c>otnative bench batch</c>: problems per second of the batched API (values and gradients of many small independent
/// problems on all cores) against a loop of single solves, in the same run on the same problems.
/// </summary>
public sealed class BenchBatchCommand : Command<BenchBatchCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandOption("--problems <N>")]
        [Description("How many problems (default 10000).")]
        [DefaultValue(10_000)]
        public int Problems { get; init; } = 10_000;

        [CommandOption("--size <N>")]
        [Description("n = m of every problem (default 64).")]
        [DefaultValue(64)]
        public int Size { get; init; } = 64;

        [CommandOption("--dim <D>")]
        [Description("Dimension d (default 3).")]
        [DefaultValue(3)]
        public int Dim { get; init; } = 3;

        [CommandOption("--hvp")]
        [Description("Also one Hessian-vector product per problem.")]
        public bool Hvp { get; init; }

        [CommandOption("--json <PATH>")]
        [Description("JSON output (default bench-batch.json).")]
        [DefaultValue("bench-batch.json")]
        public string Json { get; init; } = "bench-batch.json";

        public override ValidationResult Validate() =>
            Problems < 1 || Size < 1 || Dim < 1 ? ValidationResult.Error("--problems, --size and --dim must be positive.") : ValidationResult.Success();
    }

    /// <summary>The measurement.</summary>
    public sealed record Outcome(int Problems, int N, int D, bool Hvp, int Cores, double BatchSeconds, double LoopSeconds,
        double BatchProblemsPerSecond, double LoopProblemsPerSecond, double Speedup, double MaxValueDifference);

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellation)
    {
        Run(settings);
        return 0;
    }

    /// <summary>Times both, checks they agree, prints and saves the result.</summary>
    public static Outcome Run(Settings s)
    {
        var rng = new Random(64);
        var problems = Enumerable.Range(0, s.Problems).Select(_ =>
            OtProblemModule.create(Synthetic.uniformCube(rng, s.Size, s.Dim), Synthetic.uniformCube(rng, s.Size, s.Dim), null, null)).ToArray();
        var directions = s.Hvp ? problems.Select(p => Synthetic.uniformCube(rng, p.N, s.Dim)).ToArray() : null;
        BatchRequest Request(int count) => new(true, false, directions is null ? null : Microsoft.FSharp.Core.FSharpOption<Matrix[]>.Some(directions[..count]));
        var request = Request(problems.Length);
        var opts = Core.SinkhornOptions.Default;
        IBackend cpu = CpuBackend.Instance;
        var warm = Math.Min(64, problems.Length);
        Batch.solve(cpu, problems[..warm], opts, Request(warm));
        var sw = Stopwatch.StartNew();
        var batch = ProgressDisplay.Run("batch", () => "all cores", () => Batch.solve(cpu, problems, opts, request));
        var batchSeconds = sw.Elapsed.TotalSeconds;
        sw.Restart();
        var loop = ProgressDisplay.Run("loop", () => "one problem at a time", () => Batch.solveSequentially(cpu, problems, opts, request));
        var loopSeconds = sw.Elapsed.TotalSeconds;
        var diff = batch.Zip(loop).Max(p => Math.Abs(p.First.Solution.Value - p.Second.Solution.Value));
        var outcome = new Outcome(s.Problems, s.Size, s.Dim, s.Hvp, Environment.ProcessorCount, batchSeconds, loopSeconds,
            s.Problems / batchSeconds, s.Problems / loopSeconds, loopSeconds / batchSeconds, diff);
        var table = new Table().Title($"{s.Problems} problems, n = m = {s.Size}, d = {s.Dim}, values + gradients{(s.Hvp ? " + HVP" : "")}, {Environment.ProcessorCount} cores")
            .AddColumns("", "seconds", "problems / s");
        table.AddRow("batched (Batch.solve)", $"{batchSeconds:F2}", $"{outcome.BatchProblemsPerSecond:F0}");
        table.AddRow("loop of single solves", $"{loopSeconds:F2}", $"{outcome.LoopProblemsPerSecond:F0}");
        AnsiConsole.Write(table);
        AnsiConsole.MarkupLine($"speed-up {outcome.Speedup:F2}×; largest difference between the two values {diff:E1}");
        JsonReport.Write(s.Json, new { benchmark = "batch", result = outcome });
        AnsiConsole.MarkupLine($"saved {Markup.Escape(s.Json)}");
        return outcome;
    }
}
