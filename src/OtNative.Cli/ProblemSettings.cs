using System.ComponentModel;
using Spectre.Console.Cli;

namespace OtNative.Cli;

/// <summary>The solver options every problem command shares (the CLI contract: names must not change).</summary>
public class SolverSettings : CommandSettings
{
    [CommandOption("--eps <E>")]
    [Description("Regularisation ε (absolute unless --eps-relative).")]
    public double? Eps { get; init; }

    [CommandOption("--eps-relative")]
    [Description("ε = E × weighted mean cost, resolved once from the inputs; grad, hessian and hvp differentiate at that ε held fixed (not through its dependence on x; JSON epsilonHeldFixed).")]
    public bool EpsRelative { get; init; }

    [CommandOption("--tol <TOL>")]
    [Description("Marginal-error tolerance (default 1e-6).")]
    [DefaultValue(1e-6)]
    public double Tol { get; init; } = 1e-6;

    [CommandOption("--max-iter <N>")]
    [Description("Iteration cap (default 10000).")]
    [DefaultValue(10_000)]
    public int MaxIter { get; init; } = 10_000;

    [CommandOption("--init <NAME>")]
    [Description("Where the solve starts: none (f = 0, default), gaussian (the Monge map between the clouds' Gaussian fits), sorting (d = 1: the monotone map's potential), subsample (a coarse solve on 256-point subsamples), gmm (the Gaussian maps between the components of Gaussian mixtures fitted to both clouds) or auto.")]
    [DefaultValue("none")]
    public string Init { get; init; } = "none";

    [CommandOption("--solver <NAME>")]
    [Description("sinkhorn (alternating updates, default), lbfgs (L-BFGS on the semi-dual: far fewer passes at small ε), auto (L-BFGS from the automatic initialiser) or sinkhorn-lbfgs (Sinkhorn until it stalls, then L-BFGS).")]
    [DefaultValue("sinkhorn")]
    public string Solver { get; init; } = "sinkhorn";

    [CommandOption("--precision <NAME>")]
    [Description("double (default), mixed (float32 exponentials of float64 arguments, summed in float64; the last iterations and the returned plan's error float64) or auto (mixed when --tol ≥ 1e-7).")]
    [DefaultValue("double")]
    public string Precision { get; init; } = "double";

    [CommandOption("--anneal")]
    [Description("ε-annealing: loose solves from the largest cost down to ε, each warm-starting the next (fewer iterations at small ε).")]
    public bool Anneal { get; init; }

    [CommandOption("--tau-a <T>")]
    [Description("Unbalanced transport: relax P1 = a to the penalty T·KL(P1 ‖ a), T > 0 in the cost's units (default: balanced).")]
    [TypeConverter(typeof(PenaltyConverter))]
    public double? TauA { get; init; }

    [CommandOption("--tau-b <T>")]
    [Description("Unbalanced transport: relax Pᵀ1 = b to the penalty T·KL(Pᵀ1 ‖ b), T > 0 (default: balanced).")]
    [TypeConverter(typeof(PenaltyConverter))]
    public double? TauB { get; init; }

    [CommandOption("--cost <COST>")]
    [Description("The ground cost: sqeuclidean (‖x − y‖², default), euclidean (‖x − y‖), pnorm:P (‖x − y‖ᵖ, P ≥ 1) or mahalanobis:M.npy ((x − y)ᵀM(x − y), M symmetric positive semi-definite d×d). Costs other than sqeuclidean and mahalanobis run on the CPU.")]
    [DefaultValue("sqeuclidean")]
    public string Cost { get; init; } = "sqeuclidean";

    /// <summary>The P of <c>--cost pnorm:P</c>, or NaN where it is no number.</summary>
    internal static double PNormExponent(string cost) =>
        double.TryParse(cost["pnorm:".Length..], System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var p) ? p : double.NaN;

    [CommandOption("--backend <NAME>")]
    [Description("cpu, cuda or auto (default cpu).")]
    [DefaultValue("cpu")]
    public string Backend { get; init; } = "cpu";

    [CommandOption("--json <PATH>")]
    [Description("Write a JSON summary here.")]
    public string? Json { get; init; }

    [CommandOption("--mpi")]
    [Description("Run under mpiexec -n K (MPICH): the rows of x split across the K ranks, each on its CPU; rank 0 prints and writes the outputs.")]
    public bool Mpi { get; init; }

    /// <summary>The files this command will write, by option: checked before any computation.</summary>
    public virtual IEnumerable<(string Option, string? Path)> Outputs => [("--json", Json)];

    /// <summary>A <c>--tau-a</c>/<c>--tau-b</c> value as the JSON reports it: null for a balanced side (not given, or ∞).</summary>
    public static double? Relaxed(double? tau) => tau is { } t && !double.IsPositiveInfinity(t) ? t : null;

    public override Spectre.Console.ValidationResult Validate()
    {
        if (Eps is null) return Spectre.Console.ValidationResult.Error("--eps is required.");
        if (Init is not ("none" or "gaussian" or "sorting" or "subsample" or "gmm" or "auto"))
            return Spectre.Console.ValidationResult.Error($"--init must be none, gaussian, sorting, subsample, gmm or auto, got '{Init}'.");
        if (Solver is not ("sinkhorn" or "lbfgs" or "auto" or "sinkhorn-lbfgs"))
            return Spectre.Console.ValidationResult.Error($"--solver must be sinkhorn, lbfgs, auto or sinkhorn-lbfgs, got '{Solver}'.");
        // Annealing stages are Sinkhorn updates: L-BFGS would ignore it while the JSON said "anneal": true.
        if (Anneal && Solver is "lbfgs" or "auto")
            return Spectre.Console.ValidationResult.Error($"--anneal anneals Sinkhorn updates; --solver {Solver} has none: use --solver sinkhorn or sinkhorn-lbfgs with --anneal.");
        if (Precision is not ("double" or "mixed" or "auto"))
            return Spectre.Console.ValidationResult.Error($"--precision must be double, mixed or auto, got '{Precision}'.");
        // "mahalanobis:" alone named no file: reading the empty path failed with "File not found:" and no word of --cost.
        if (Cost is not ("sqeuclidean" or "euclidean") && !(Cost.StartsWith("mahalanobis:", StringComparison.Ordinal) && Cost.Length > "mahalanobis:".Length)
            && !(Cost.StartsWith("pnorm:", StringComparison.Ordinal) && PNormExponent(Cost) is >= 1 and < double.PositiveInfinity))
            return Spectre.Console.ValidationResult.Error($"--cost must be sqeuclidean, euclidean, pnorm:P (a number P ≥ 1) or mahalanobis:M.npy, got '{Cost}'.");
        if (TauA is { } ta && !(ta > 0)) return Spectre.Console.ValidationResult.Error($"--tau-a must be positive, got {ta}.");
        if (TauB is { } tb && !(tb > 0)) return Spectre.Console.ValidationResult.Error($"--tau-b must be positive, got {tb}.");
        if ((Relaxed(TauA) is not null || Relaxed(TauB) is not null) && Solver is "lbfgs" or "sinkhorn-lbfgs")
            return Spectre.Console.ValidationResult.Error($"--solver {Solver} solves the balanced semi-dual; with --tau-a/--tau-b use --solver sinkhorn (or auto).");
        return Spectre.Console.ValidationResult.Success();
    }
}

/// <summary>
/// The inputs of a one-problem command. The contract's <c>--x --y --a --b</c> are single-letter long options, which
/// Spectre.Console.Cli does not allow; <see cref="Program.NormaliseArguments"/> maps them to <c>-x -y -a -b</c>, and both
/// spellings work.
/// </summary>
public class ProblemSettings : SolverSettings
{
    [CommandOption("-x <PATH>")]
    [Description("Source points, n×d (.npy float64 or .csv).")]
    public string? X { get; init; }

    [CommandOption("-y <PATH>")]
    [Description("Target points, m×d.")]
    public string? Y { get; init; }

    [CommandOption("-a <PATH>")]
    [Description("Source weights (n); uniform when absent.")]
    public string? A { get; init; }

    [CommandOption("-b <PATH>")]
    [Description("Target weights (m); uniform when absent.")]
    public string? B { get; init; }

    public override Spectre.Console.ValidationResult Validate()
    {
        if (string.IsNullOrEmpty(X)) return Spectre.Console.ValidationResult.Error("--x is required.");
        if (string.IsNullOrEmpty(Y)) return Spectre.Console.ValidationResult.Error("--y is required.");
        return base.Validate();
    }
}
