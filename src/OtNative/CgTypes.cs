using System.Text.Json.Serialization;

namespace OtNative;

/// <summary>
/// Preconditioner of the conjugate-gradient solves on the Schur complement S = diag(s) − Pᵀ diag(1/r) P of the H-matrix
/// (r = P1, s = Pᵀ1), behind Hessian-vector products and sharp gradients.
/// </summary>
public enum CgPreconditioner
{
    /// <summary>diag(1/s): free, and the fewest streamed passes on typical problems.</summary>
    Jacobi,
    /// <summary>Plain CG.</summary>
    None,
    /// <summary>
    /// The truncated Neumann series (I + B + … + B^k) diag(1/s), B = diag(1/s) Pᵀ diag(1/r) P, with k =
    /// <see cref="CgOptions.NeumannTerms"/>: fewer iterations, 2 extra passes per term.
    /// </summary>
    Neumann,
}

/// <summary>Settings of the conjugate-gradient solves behind Hessian-vector products and sharp gradients. Immutable; use <c>with</c>.</summary>
public sealed record CgOptions
{
    /// <summary>Stop when ‖residual‖ ≤ tolerance · ‖right-hand side‖. Default 1e-10.</summary>
    public double Tolerance { get; init; } = 1e-10;

    /// <summary>Iteration cap. Default 500.</summary>
    public int MaxIterations { get; init; } = 500;

    /// <summary>τ² of the ridge ετ² added to the Schur complement; 0 (default) projects right-hand sides onto 1⊥ instead.</summary>
    public double RidgeTau2 { get; init; }

    /// <summary>Default <see cref="CgPreconditioner.Jacobi"/>.</summary>
    public CgPreconditioner Preconditioner { get; init; } = CgPreconditioner.Jacobi;

    /// <summary>Terms of the Neumann series when <see cref="Preconditioner"/> is <see cref="CgPreconditioner.Neumann"/>. Default 3.</summary>
    public int NeumannTerms { get; init; } = 3;

    /// <summary>
    /// Return a result whose CG stopped above the tolerance (its report says so) instead of throwing
    /// <see cref="CgConvergenceException"/>. Default false: an unconverged solve is a numerical failure.
    /// </summary>
    public bool AllowUnconverged { get; init; }

    /// <summary>The defaults.</summary>
    public static CgOptions Default { get; } = new();

    /// <summary>Throws unless the solve converged or <see cref="AllowUnconverged"/> is set; returns the report.</summary>
    internal CgReport Accept(CgReport report, string what)
    {
        if (!report.Converged && !AllowUnconverged)
            throw new CgConvergenceException(
                $"CG for the {what} stopped after {report.Iterations} iterations at relative residual {report.Residual:E2}, above the tolerance {Tolerance:E1}. " +
                "Raise MaxIterations, loosen Tolerance, use a larger ε, or set AllowUnconverged to accept the result with its report.",
                report.Iterations, report.Residual);
        return report;
    }

    internal Core.CgOptions ToCore(CancellationToken cancellation) => new(
        Tolerance, MaxIterations, RidgeTau2,
        Preconditioner switch
        {
            CgPreconditioner.Jacobi => Core.CgPreconditioner.Jacobi,
            CgPreconditioner.None => Core.CgPreconditioner.Identity,
            CgPreconditioner.Neumann => Core.CgPreconditioner.NewNeumann(NeumannTerms),
            _ => throw new ArgumentOutOfRangeException(nameof(Preconditioner), Preconditioner, "Unknown preconditioner."),
        },
        cancellation);
}

/// <summary>What a CG solve did (the worst column when several were solved together).</summary>
/// <param name="Iterations">Iterations run.</param>
/// <param name="Residual">Final relative residual.</param>
/// <param name="Converged">Whether the tolerance was reached.</param>
[JsonNumberHandling(JsonNumberHandling.AllowNamedFloatingPointLiterals)]
public sealed record CgReport(int Iterations, double Residual, bool Converged)
{
    internal static CgReport Of(Core.CgReport r) => new(r.Iterations, r.Residual, r.Converged);
}

/// <summary>A result computed by CG, with the CG report.</summary>
/// <param name="Value">The result (n×d for gradients and HVPs, n×m for a cost gradient).</param>
/// <param name="Cg">How the solve went.</param>
[JsonNumberHandling(JsonNumberHandling.AllowNamedFloatingPointLiterals)]
public sealed record CgResult([property: JsonConverter(typeof(Array2DJsonConverter))] double[,] Value, CgReport Cg);
