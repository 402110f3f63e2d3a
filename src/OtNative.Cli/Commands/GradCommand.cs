using System.ComponentModel;
using OtNative.Terminal;
using Spectre.Console;
using Spectre.Console.Cli;

namespace OtNative.Cli.Commands;

/// <summary><c>otnative grad</c>: ∂loss/∂x (n×d) or ∂loss/∂C (n×m) written as a float64 .npy.</summary>
public sealed class GradCommand : Command<GradCommand.Settings>
{
    public sealed class Settings : ProblemSettings
    {
        [CommandOption("--loss <LOSS>")]
        [Description("eot (entropic OT, default), sharp (Sinkhorn distance) or divergence (debiased Sinkhorn divergence).")]
        [DefaultValue("eot")]
        public string Loss { get; init; } = "eot";

        [CommandOption("--wrt <VAR>")]
        [Description("x (the source points, n×d, default) or cost (the cost matrix, n×m).")]
        [DefaultValue("x")]
        public string Wrt { get; init; } = "x";

        [CommandOption("--out <PATH>")]
        [Description("Where to write the gradient (.npy): n×d for --wrt x, n×m for --wrt cost.")]
        public string? Out { get; init; }

        public override IEnumerable<(string Option, string? Path)> Outputs => [.. base.Outputs, ("--out", Out)];

        [CommandOption("--allow-unconverged")]
        [Description("--loss sharp: write the gradient even when its CG solve stops above tolerance (exit 0; the report says so).")]
        public bool AllowUnconverged { get; init; }

        public override ValidationResult Validate()
        {
            if (Out is null) return ValidationResult.Error("--out is required.");
            if (Loss is not ("eot" or "sharp" or "divergence")) return ValidationResult.Error($"--loss must be eot, sharp or divergence, got '{Loss}'.");
            if (Loss == "divergence" && Wrt != "x") return ValidationResult.Error("--loss divergence is differentiated with respect to x only.");
            if (Wrt is not ("x" or "cost")) return ValidationResult.Error($"--wrt must be x or cost, got '{Wrt}'.");
            return base.Validate();
        }
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellation)
    {
        var input = ProblemInput.Load(settings);
        if (settings.Loss == "divergence") return Divergence(settings, input, cancellation);
        using var result = input.Solve();
        // The sharp loss needs a CG solve: its report is printed and saved, and an unconverged one is a failure unless allowed.
        var sharp = result.HessianOperator(CgOptions.Default with { AllowUnconverged = settings.AllowUnconverged });
        (double[,] Gradient, CgReport? Cg) computed = (settings.Loss, settings.Wrt) switch
        {
            ("sharp", "cost") => Unpack(sharp.SharpCostGradient(cancellation)),
            ("sharp", _) => Unpack(sharp.SharpGradient(cancellation)),
            (_, "cost") => (result.CostGradient(), null),
            _ => (result.Gradient(), null),
        };
        var (gradient, cg) = computed;
        double value = settings.Loss == "sharp" ? result.SharpValue : result.Value;
        MpiRun.WriteNpy(settings.Out!, gradient);
        AnsiConsole.MarkupLine($"gradient of [bold]{settings.Loss}[/] ({gradient.GetLength(0)}×{gradient.GetLength(1)}) written to {Markup.Escape(settings.Out!)}; " +
                               $"{result.Iterations} iterations, marginal error {result.MarginalError:E2}" +
                               (cg is null ? "" : $"; CG {cg.Iterations} iterations, residual {cg.Residual:E2}" + (cg.Converged ? "" : " [yellow](CG did not converge)[/]")));
        MpiRun.WriteJson(settings.Json, new
            {
                loss = settings.Loss, wrt = settings.Wrt, value, entropicValue = result.Value, iterations = result.Iterations,
                marginalError = result.MarginalError, converged = result.Converged, epsilon = result.Epsilon, epsilonHeldFixed = true, seconds = result.Elapsed.TotalSeconds, output = settings.Out,
                cgIterations = cg?.Iterations, cgResidual = cg?.Residual, cgConverged = cg?.Converged,
            });
        return 0;
    }

    /// <summary>
    /// The divergence's gradient, value and convergence from one set of solves (the cross term's L_ε alone is
    /// <c>entropicValue</c>; <c>converged</c> is all three solves', <c>selfTermsConverged</c> the self-terms').
    /// </summary>
    private static int Divergence(Settings settings, ProblemInput input, CancellationToken cancellation)
    {
        var sw = System.Diagnostics.Stopwatch.StartNew();
        using var divergence = ProgressDisplay.Run("Divergence", () => "three solves",
            () => EntropicOT.SolveDivergence(input.X, input.Y, input.A, input.B, input.Options, cancellation));
        var gradient = divergence.Gradient();
        MpiRun.WriteNpy(settings.Out!, gradient);
        AnsiConsole.MarkupLine($"gradient of [bold]divergence[/] ({gradient.GetLength(0)}×{gradient.GetLength(1)}) written to {Markup.Escape(settings.Out!)}; " +
                               $"cross term {divergence.CrossIterations} iterations, marginal error {divergence.CrossMarginalError:E2}" +
                               (divergence.SelfTermsConverged ? "" : " [yellow](a self-term did not converge)[/]"));
        MpiRun.WriteJson(settings.Json, new
            {
                loss = settings.Loss, wrt = settings.Wrt, value = divergence.Value, entropicValue = divergence.CrossValue, iterations = divergence.CrossIterations,
                marginalError = divergence.CrossMarginalError, converged = divergence.Converged, crossConverged = divergence.CrossConverged,
                selfTermsConverged = divergence.SelfTermsConverged, epsilon = divergence.Epsilon, epsilonHeldFixed = true, seconds = sw.Elapsed.TotalSeconds,
                output = settings.Out, cgIterations = (int?)null, cgResidual = (double?)null, cgConverged = (bool?)null,
            });
        return 0;
    }

    private static (double[,] Gradient, CgReport? Cg) Unpack(CgResult r) => (r.Value, r.Cg);
}
