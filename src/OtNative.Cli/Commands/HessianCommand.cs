using System.ComponentModel;
using OtNative.Terminal;
using Spectre.Console;
using Spectre.Console.Cli;

namespace OtNative.Cli.Commands;

/// <summary><c>otnative hessian</c>: the dense (n·d)×(n·d) Hessian of entropic OT as .npy.</summary>
public sealed class HessianCommand : Command<HessianCommand.Settings>
{
    public sealed class Settings : ProblemSettings
    {
        [CommandOption("--method <METHOD>")]
        [Description("eigen (Algorithm 1, default), schur (fast path) or noreg (no regularisation).")]
        [DefaultValue("eigen")]
        public string Method { get; init; } = "eigen";

        [CommandOption("--threshold <TAU>")]
        [Description("Drop eigenvalues ≤ TAU (default 1e-10).")]
        [DefaultValue(1e-10)]
        public double Threshold { get; init; } = 1e-10;

        [CommandOption("--relative-threshold")]
        [Description("TAU is relative to the largest eigenvalue.")]
        public bool RelativeThreshold { get; init; }

        [CommandOption("--loss <LOSS>")]
        [Description("eot (entropic OT, default) or divergence (the debiased divergence, by Algorithm 1).")]
        [DefaultValue("eot")]
        public string Loss { get; init; } = "eot";

        [CommandOption("--out <PATH>")]
        [Description("Where to write the Hessian (.npy).")]
        public string? Out { get; init; }

        public override IEnumerable<(string Option, string? Path)> Outputs => [.. base.Outputs, ("--out", Out)];

        public override ValidationResult Validate()
        {
            if (Out is null) return ValidationResult.Error("--out is required.");
            if (Method is not ("eigen" or "schur" or "noreg")) return ValidationResult.Error($"--method must be eigen, schur or noreg, got '{Method}'.");
            if (Loss is not ("eot" or "divergence")) return ValidationResult.Error($"--loss must be eot or divergence, got '{Loss}'.");
            if (Loss == "divergence" && (Method != "eigen" || RelativeThreshold))
                return ValidationResult.Error("--loss divergence uses Algorithm 1 with an absolute --threshold.");
            return base.Validate();
        }
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellation)
    {
        var input = ProblemInput.Load(settings);
        if (settings.Loss == "divergence")
        {
            // Refused before the solves, not after them.
            EntropicOT.RequireMemory(DenseResult.DivergenceHessian, input.X.GetLength(0), input.Y.GetLength(0), input.X.GetLength(1));
            using var solved = ProgressDisplay.Run("Divergence", () => "three solves",
                () => EntropicOT.SolveDivergence(input.X, input.Y, input.A, input.B, input.Options, cancellation));
            var divergence = ProgressDisplay.Run("Divergence Hessian", () => "Algorithm 1", () => solved.Hessian(settings.Threshold, cancellation));
            MpiRun.WriteNpy(settings.Out!, divergence);
            AnsiConsole.MarkupLine($"Hessian of the debiased divergence ({divergence.GetLength(0)}×{divergence.GetLength(1)}) written to {Markup.Escape(settings.Out!)}" +
                                   (solved.Converged ? "" : " [yellow](a solve did not converge)[/]"));
            MpiRun.WriteJson(settings.Json, new
            {
                loss = settings.Loss, method = settings.Method, threshold = settings.Threshold, value = solved.Value, converged = solved.Converged,
                crossConverged = solved.CrossConverged, selfTermsConverged = solved.SelfTermsConverged, iterations = solved.CrossIterations,
                epsilon = solved.Epsilon, epsilonHeldFixed = true,
            });
            return 0;
        }
        var method = settings.Method switch { "schur" => HessianMethod.Schur, "noreg" => HessianMethod.NoRegularisation, _ => HessianMethod.Eigen };
        // A Hessian that cannot fit is refused before the solve, not after it.
        EntropicOT.RequireMemory(DenseResult.Hessian, input.X.GetLength(0), input.Y.GetLength(0), input.X.GetLength(1), method);
        using var result = input.Solve();
        var hessian = ProgressDisplay.Run("Hessian", () => settings.Method, () => result.Hessian(method, settings.Threshold, settings.RelativeThreshold));
        MpiRun.WriteNpy(settings.Out!, hessian.Matrix);
        // Null (JSON) and not printed for unbalanced transport, where the row-sum identity does not hold.
        double? marginal = double.IsNaN(hessian.RowSumError) ? null : hessian.RowSumError;
        AnsiConsole.MarkupLine($"Hessian ({hessian.Matrix.GetLength(0)}×{hessian.Matrix.GetLength(1)}, {settings.Method}) written to {Markup.Escape(settings.Out!)}: " +
                               $"{hessian.Kept} eigenvalues kept, {hessian.Dropped} dropped ({hessian.Factorisation}), smallest kept {hessian.SmallestKept:E2}" +
                               (marginal is { } rowSum ? $", marginal error {rowSum:E2}" : "") + $", {hessian.Elapsed.TotalSeconds:F3} s");
        MpiRun.WriteJson(settings.Json, new { method = settings.Method, kept = hessian.Kept, dropped = hessian.Dropped, smallestKept = hessian.SmallestKept, factorisation = hessian.Factorisation.ToString(), threshold = hessian.Threshold, marginalError = marginal, seconds = hessian.Elapsed.TotalSeconds, iterations = result.Iterations, epsilon = result.Epsilon, epsilonHeldFixed = true });
        return 0;
    }
}
