using System.ComponentModel;
using OtNative.Terminal;
using Spectre.Console;
using Spectre.Console.Cli;

namespace OtNative.Benchmarks.Commands;

/// <summary>
/// <c>otnative bench compare</c>: the paper's Section 5 — Hessian runtime, marginal error and success rate of unrolled and
/// implicit differentiation against the analytic Hessian without and with truncation (and our Schur fast path).
/// </summary>
public sealed class BenchCompareCommand : Command<BenchCompareCommand.Settings>
{
    public class Settings : CommandSettings
    {
        [CommandOption("--quick")]
        [Description("A CI-sized subset: 3 seeds, n ≤ 40 for accuracy, runtimes to n = 200.")]
        public bool Quick { get; init; }

        [CommandOption("--seeds <N>")]
        [Description("Seeds per accuracy cell (default 100, or 3 with --quick).")]
        public int? Seeds { get; init; }

        [CommandOption("--sizes <LIST>")]
        [Description("Accuracy sizes (default 10,20,30,40,80,120,180).")]
        public string? Sizes { get; init; }

        [CommandOption("--runtime-sizes <LIST>")]
        [Description("Runtime sizes (default 10,20,40,80,180,400,800,1600,3200,6400; comparison methods stop at 180).")]
        public string? RuntimeSizes { get; init; }

        [CommandOption("--budget <SECONDS>")]
        [Description("Time budget per method and cell (default 600, or 60 with --quick).")]
        public double? Budget { get; init; }

        [CommandOption("--ridge <R>")]
        [Description("Ridge added to H by the implicit method (default 0, OTT-JAX's default).")]
        [DefaultValue(0.0)]
        public double Ridge { get; init; }

        [CommandOption("--plots <DIR>")]
        [Description("Where runtime.png and error.png go (default bench-compare-plots).")]
        [DefaultValue("bench-compare-plots")]
        public string Plots { get; init; } = "bench-compare-plots";

        [CommandOption("--json <PATH>")]
        [Description("JSON output (default bench-compare.json).")]
        [DefaultValue("bench-compare.json")]
        public string Json { get; init; } = "bench-compare.json";

        /// <summary>The protocol these options describe.</summary>
        public ProtocolSettings Protocol()
        {
            var p = Quick ? ProtocolSettings.Quick : ProtocolSettings.Full;
            return p with
            {
                Seeds = Seeds ?? p.Seeds, AccuracySizes = Sizes is null ? p.AccuracySizes : ListOption.Ints(Sizes),
                RuntimeSizes = RuntimeSizes is null ? p.RuntimeSizes : ListOption.Ints(RuntimeSizes), BudgetSeconds = Budget ?? p.BudgetSeconds, Ridge = Ridge,
            };
        }

        public override ValidationResult Validate() =>
            Seeds is < 1 ? ValidationResult.Error("--seeds must be at least 1.")
            : Budget is <= 0 ? ValidationResult.Error("--budget must be positive.")
            : Ridge < 0 ? ValidationResult.Error("--ridge must be ≥ 0.") : ValidationResult.Success();
    }

    /// <summary>Everything one run measured.</summary>
    public sealed record Outcome(ProtocolSettings Protocol, List<AccuracyCell> Accuracy, List<RuntimeCell> Runtime, IReadOnlyList<string> Plots);

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellation)
    {
        Run(settings);
        return 0;
    }

    /// <summary>Runs the protocol, prints the tables, writes the plots and the JSON.</summary>
    public static Outcome Run(Settings settings)
    {
        var protocol = settings.Protocol();
        AnsiConsole.MarkupLine($"[bold]bench compare[/]: {protocol.Seeds} seeds, accuracy n ∈ {{{string.Join(", ", protocol.AccuracySizes)}}}, " +
                               $"ε/mean cost ∈ {{{string.Join(", ", protocol.AccuracyScales)}}}; linear algebra {Markup.Escape(OtNativeEnvironment.Describe().LinearAlgebra)}");
        var state = "starting";
        var accuracy = ProgressDisplay.Run("accuracy", () => state, () => ComparisonProtocol.Accuracy(protocol, s => state = s));
        var runtime = ProgressDisplay.Run("runtime", () => state, () => ComparisonProtocol.Runtime(protocol, s => state = s));
        AnsiConsole.Write(SuccessTable(accuracy));
        AnsiConsole.Write(RuntimeTable(runtime));
        var plots = ComparisonPlots.Write(settings.Plots, accuracy, runtime);
        JsonReport.Write(settings.Json, new { benchmark = "compare", protocol, accuracy, runtime, plots });
        AnsiConsole.MarkupLine($"plots: {Markup.Escape(string.Join(", ", plots))}; saved {Markup.Escape(settings.Json)}");
        return new Outcome(protocol, accuracy, runtime, plots);
    }

    private static Table SuccessTable(List<AccuracyCell> cells)
    {
        var methods = ComparisonProtocol.Methods.Select(ComparisonProtocol.Name).ToArray();
        var table = new Table().Title("Success rate (marginal error < 0.1) and median marginal error").AddColumn("ε / mean cost").AddColumn("n");
        foreach (var m in methods) table.AddColumn(m);
        foreach (var g in cells.GroupBy(c => (c.Scale, c.N)))
            table.AddRow([$"{g.Key.Scale}", $"{g.Key.N}", .. methods.Select(m => g.First(c => c.Method == m) is var c
                ? $"{c.SuccessRate:F2} ({c.MedianError:E1})" + (c.Note is null ? "" : "*") : "—")]);
        return table;
    }

    private static Table RuntimeTable(List<RuntimeCell> cells)
    {
        var methods = ComparisonProtocol.Methods.Select(ComparisonProtocol.Name).ToArray();
        var table = new Table().Title("Hessian time, median seconds (— : not run, see JSON status)").AddColumn("ε / mean cost").AddColumn("n").AddColumn("Sinkhorn s");
        foreach (var m in methods) table.AddColumn(m);
        foreach (var g in cells.GroupBy(c => (c.Scale, c.N)))
            table.AddRow([$"{g.Key.Scale}", $"{g.Key.N}", $"{g.First().SolveSeconds:F3}", .. methods.Select(m => g.First(c => c.Method == m) is { MedianSeconds: { } s } ? $"{s:G3}" : "—")]);
        return table;
    }
}
