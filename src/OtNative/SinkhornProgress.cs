namespace OtNative;

/// <summary>Progress of a running solve, reported every <see cref="SinkhornOptions.ProgressInterval"/> iterations.</summary>
/// <param name="Iteration">Iterations completed.</param>
/// <param name="MarginalError">‖P1 − a‖₁ of the latest plan.</param>
/// <param name="Elapsed">Time since the solve began.</param>
/// <param name="ProblemIndex">The problem's position in a batch; null for a single solve.</param>
public readonly record struct SinkhornProgress(int Iteration, double MarginalError, TimeSpan Elapsed, int? ProblemIndex)
{
    internal static SinkhornProgress Of(Core.SinkhornProgress p) =>
        new(p.Iteration, p.MarginalError, p.Elapsed, p.ProblemIndex < 0 ? null : p.ProblemIndex);
}
