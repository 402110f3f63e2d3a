using System.ComponentModel;
using OtNative.Terminal;
using Spectre.Console;
using Spectre.Console.Cli;

namespace OtNative.Cli.Commands;

/// <summary><c>otnative hvp</c>: a Hessian-vector product without forming the Hessian.</summary>
public sealed class HvpCommand : Command<HvpCommand.Settings>
{
    public sealed class Settings : ProblemSettings
    {
        [CommandOption("--direction <PATH>")]
        [Description("Direction A (n×d, .npy or .csv).")]
        public string? Direction { get; init; }

        [CommandOption("--out <PATH>")]
        [Description("Where to write the product (n×d .npy).")]
        public string? Out { get; init; }

        public override IEnumerable<(string Option, string? Path)> Outputs => [.. base.Outputs, ("--out", Out)];

        [CommandOption("--cg-tol <TOL>")]
        [Description("CG relative residual (default 1e-10).")]
        [DefaultValue(1e-10)]
        public double CgTol { get; init; } = 1e-10;

        [CommandOption("--max-cg <N>")]
        [Description("CG iteration cap (default 500).")]
        [DefaultValue(500)]
        public int MaxCg { get; init; } = 500;

        [CommandOption("--preconditioner <NAME>")]
        [Description("jacobi (default), none, or neumann (I + B + B² + B³, math.md §3).")]
        [DefaultValue("jacobi")]
        public string Preconditioner { get; init; } = "jacobi";

        [CommandOption("--loss <LOSS>")]
        [Description("eot (entropic OT, default) or divergence (the debiased divergence: two solves, two CG solves).")]
        [DefaultValue("eot")]
        public string Loss { get; init; } = "eot";

        [CommandOption("--allow-unconverged")]
        [Description("Write the product even when CG stops above tolerance (exit 0; the report says so).")]
        public bool AllowUnconverged { get; init; }

        /// <summary>The preconditioner the name stands for.</summary>
        public CgPreconditioner ParsedPreconditioner => Preconditioner switch
        {
            "none" => CgPreconditioner.None,
            "neumann" => CgPreconditioner.Neumann,
            _ => CgPreconditioner.Jacobi,
        };

        public override ValidationResult Validate()
        {
            if (Preconditioner is not ("jacobi" or "none" or "neumann"))
                return ValidationResult.Error($"--preconditioner must be jacobi, none or neumann, got '{Preconditioner}'.");
            if (Loss is not ("eot" or "divergence")) return ValidationResult.Error($"--loss must be eot or divergence, got '{Loss}'.");
            if (Direction is null) return ValidationResult.Error("--direction is required.");
            if (Out is null) return ValidationResult.Error("--out is required.");
            return base.Validate();
        }
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellation)
    {
        var input = ProblemInput.Load(settings, direction: settings.Direction);
        var direction = input.Direction!;
        var cg = new CgOptions { Tolerance = settings.CgTol, MaxIterations = settings.MaxCg, Preconditioner = settings.ParsedPreconditioner, AllowUnconverged = settings.AllowUnconverged };
        if (settings.Loss == "divergence")
        {
            using var solved = ProgressDisplay.Run("Divergence", () => "three solves",
                () => EntropicOT.SolveDivergence(input.X, input.Y, input.A, input.B, input.Options, cancellation));
            var (divergenceProduct, divergenceReport) = ProgressDisplay.Run("Divergence HVP", () => "two CG solves",
                () => solved.HessianVectorProduct(direction, cg, cancellation));
            Report(settings, divergenceProduct, divergenceReport, new
            {
                loss = settings.Loss, cgIterations = divergenceReport.Iterations, cgResidual = divergenceReport.Residual, cgConverged = divergenceReport.Converged,
                value = solved.Value, converged = solved.Converged, crossConverged = solved.CrossConverged, selfTermsConverged = solved.SelfTermsConverged,
                iterations = solved.CrossIterations, epsilon = solved.Epsilon, epsilonHeldFixed = true,
            });
            return 0;
        }
        using var result = input.Solve();
        var op = result.HessianOperator(cg);
        var (product, report) = ProgressDisplay.Run("HVP", () => "CG", () => op.Apply(direction, cancellation));
        Report(settings, product, report, new
        {
            cgIterations = report.Iterations, cgResidual = report.Residual, cgConverged = report.Converged, iterations = result.Iterations, epsilon = result.Epsilon, epsilonHeldFixed = true,
        });
        return 0;
    }

    /// <summary>Writes the product and its JSON summary and says where, with the CG report.</summary>
    private static void Report(Settings settings, double[,] product, CgReport report, object summary)
    {
        MpiRun.WriteNpy(settings.Out!, product);
        AnsiConsole.MarkupLine($"HVP ({product.GetLength(0)}×{product.GetLength(1)}) written to {Markup.Escape(settings.Out!)}: CG {report.Iterations} iterations, residual {report.Residual:E2}" +
                               (report.Converged ? "" : " [yellow](CG did not converge)[/]"));
        MpiRun.WriteJson(settings.Json, summary);
    }
}
