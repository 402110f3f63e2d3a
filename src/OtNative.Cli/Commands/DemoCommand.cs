using System.ComponentModel;
using Spectre.Console;
using Spectre.Console.Cli;

namespace OtNative.Cli.Commands;

/// <summary>
/// <c>otnative demo</c>: the README's main job, on the CPU with no input files — the paper's Gaussian-mixture
/// shuffled regression (n = 500, d_X = 5, d_Y = 2): SGD → relaxed Newton against SGD → gradient descent,
/// the comparison table, and PNG plots.
/// </summary>
public sealed class DemoCommand : Command<DemoCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandOption("--plots <DIR>")]
        [Description("Where the plots go (default demo-plots).")]
        [DefaultValue("demo-plots")]
        public string Plots { get; init; } = "demo-plots";

        [CommandOption("--json <PATH>")]
        [Description("Also write the raw series here.")]
        public string? Json { get; init; }
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellation)
    {
        AnsiConsole.MarkupLine("[bold]OtNative demo[/]: shuffled regression on the paper's Gaussian mixture, CPU, float64. " +
                               "The rows of Y are shuffled; θ is fitted by minimising entropic OT L_ε(Xθ, Y).");
        var gmm = new RegressGmmCommand.Settings { Plots = settings.Plots, Json = settings.Json };
        return RegressionRun.Execute(RegressGmmCommand.Synthetic(gmm), gmm, "gmm");
    }
}
