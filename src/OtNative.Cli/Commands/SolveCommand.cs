using System.ComponentModel;
using OtNative.Terminal;
using Spectre.Console;
using Spectre.Console.Cli;

namespace OtNative.Cli.Commands;

/// <summary><c>otnative solve</c>: values and diagnostics of one problem.</summary>
public sealed class SolveCommand : Command<SolveCommand.Settings>
{
    public sealed class Settings : ProblemSettings
    {
        [CommandOption("--no-divergence")]
        [Description("Skip the debiased divergence: its two self-transport solves can cost more than the main solve at large n (divergence is then null in --json).")]
        public bool NoDivergence { get; init; }
    }

    /// <summary>The JSON summary (field names are part of the CLI contract).</summary>
    public sealed record Summary(
        double Value, double Sharp, double? Divergence, int Iterations, double MarginalError, bool Converged,
        double Epsilon, double Seconds, int N, int M, int D, string Backend, bool? DivergenceConverged, string? BackendNote,
        string Initializer, bool Anneal, string Solver, int Passes, int? SwitchedToLbfgsAt, string Precision, int MixedIterations,
        double? TauA, double? TauB, double Mass, string Cost);

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellation)
    {
        var input = ProblemInput.Load(settings);
        using var result = input.Solve();
        DivergenceResult? divergence = null;
        // The unbalanced divergence debiases with one τ on both sides.
        var divergenceDefined = (settings.TauA ?? double.PositiveInfinity) == (settings.TauB ?? double.PositiveInfinity);
        if (!settings.NoDivergence && divergenceDefined)
        {
            if (result.Elapsed > TimeSpan.FromSeconds(10))
                AnsiConsole.MarkupLine($"[grey]the debiased divergence needs two more solves of this size (the main one took {result.Elapsed.TotalSeconds:F0} s); --no-divergence skips them[/]");
            divergence = ProgressDisplay.Run("Divergence", input.Options with { Epsilon = result.Epsilon, EpsilonRelative = false },
                o => EntropicOT.Divergence(input.X, input.Y, input.A, input.B, o, cancellation));
        }
        var summary = new Summary(result.Value, result.SharpValue, divergence?.Value, result.Iterations, result.MarginalError,
            result.Converged, result.Epsilon, result.Elapsed.TotalSeconds, result.N, result.M, input.X.GetLength(1), result.Backend,
            // --solver auto starts from the automatic initialiser unless --init names one: the JSON says where it started.
            divergence?.Converged, result.BackendNote, settings.Solver == "auto" && settings.Init == "none" ? "auto" : settings.Init, settings.Anneal, settings.Solver, result.Passes,
            result.SwitchedToLbfgsAt, result.MixedIterations > 0 ? "mixed" : "double", result.MixedIterations,
            // A side given as ∞ (--tau-a Infinity, or 1e400) is balanced: null, as documented, not the string "Infinity".
            ProblemSettings.Relaxed(settings.TauA), ProblemSettings.Relaxed(settings.TauB), result.TransportedMass, input.Options.Cost.ToString());
        var table = new Table().AddColumn("quantity").AddColumn(new TableColumn("value").RightAligned());
        table.AddRow("entropic OT (value)", $"{summary.Value:G12}");
        table.AddRow("Sinkhorn distance (sharp)", $"{summary.Sharp:G12}");
        table.AddRow("debiased divergence", summary.Divergence is { } value
            ? $"{value:G12}" + (summary.DivergenceConverged == true ? "" : " [yellow](a self-transport solve did not converge)[/]")
            : divergenceDefined ? "skipped (--no-divergence)" : "not defined for --tau-a ≠ --tau-b");
        if (summary.TauA is not null || summary.TauB is not null)
            table.AddRow("unbalanced", $"τ_a = {(summary.TauA is { } ta ? $"{ta:G6}" : "∞")}, τ_b = {(summary.TauB is { } tb ? $"{tb:G6}" : "∞")}; transported mass {summary.Mass:G8}");
        table.AddRow("ε (absolute)", $"{summary.Epsilon:G6}");
        table.AddRow("iterations", $"{summary.Iterations} ({summary.Passes} passes, solver {summary.Solver}" +
            (summary.SwitchedToLbfgsAt is { } at ? $", L-BFGS after Sinkhorn iteration {at})" : ")"));
        if (summary.MixedIterations > 0)
            table.AddRow("precision", $"mixed: {summary.MixedIterations} iterations with float32 exponentials, then float64");
        table.AddRow("marginal error", $"{summary.MarginalError:E3}");
        table.AddRow("converged", summary.Converged ? "yes" : "[yellow]no[/]");
        table.AddRow("time", $"{summary.Seconds:F3} s");
        table.AddRow("problem", $"n={summary.N}, m={summary.M}, d={summary.D}, backend {summary.Backend}");
        if (summary.BackendNote is { } note) table.AddRow("backend choice", Markup.Escape(note));
        AnsiConsole.Write(table);
        MpiRun.WriteJson(settings.Json, summary);
        return 0;
    }
}
