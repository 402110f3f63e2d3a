using OtNative.Core;

namespace OtNative;

/// <summary>Options of the log-domain Sinkhorn solver (math.md §1). Immutable; use <c>with</c> to change a field.</summary>
public sealed record SinkhornOptions
{
    /// <summary>The regularisation ε: absolute, or a multiple of the weighted mean cost when <see cref="EpsilonRelative"/> is set. Default 0.05 (relative).</summary>
    public double Epsilon { get; init; } = 0.05;

    /// <summary>When true (the default) ε = <see cref="Epsilon"/> × mean cost, the paper's protocol.</summary>
    public bool EpsilonRelative { get; init; } = true;

    /// <summary>Stop when the row-marginal error ‖P1 − a‖₁ falls below this. Default 1e-6.</summary>
    public double Tolerance { get; init; } = 1e-6;

    /// <summary>Iteration cap (one iteration = a g-update and an f-update). Default 10 000.</summary>
    public int MaxIterations { get; init; } = 10_000;

    /// <summary>Warm start for the source potential f (length n). The solve then starts with the g-update.</summary>
    public double[]? InitialF { get; init; }

    /// <summary>Warm start for the target potential g (length m), used when <see cref="InitialF"/> is null.</summary>
    public double[]? InitialG { get; init; }

    /// <summary>Throw <see cref="ConvergenceException"/> instead of returning an unconverged result.</summary>
    public bool RequireConvergence { get; init; }

    /// <summary>Scale positive weights to sum one instead of rejecting them.</summary>
    public bool RenormalizeWeights { get; init; }

    /// <summary>Where to compute. Default <see cref="ComputeBackend.Cpu"/>.</summary>
    public ComputeBackend Backend { get; init; } = ComputeBackend.Cpu;

    /// <summary>Receives the iteration count and marginal error every <see cref="ProgressInterval"/> iterations.</summary>
    public IProgress<SinkhornProgress>? Progress { get; init; }

    /// <summary>Iterations between progress reports. Default 10.</summary>
    public int ProgressInterval { get; init; } = 10;

    /// <summary>The defaults: ε = 0.05 × mean cost, tolerance 1e-6, 10 000 iterations, CPU.</summary>
    public static SinkhornOptions Default { get; } = new();

    internal Core.SinkhornOptions ToCore()
    {
        var progress = Progress;
        return new Core.SinkhornOptions(
            EpsilonRelative ? Core.Epsilon.NewRelativeToMeanCost(Epsilon) : Core.Epsilon.NewAbsolute(Epsilon),
            Tolerance,
            MaxIterations,
            InitialF is null ? null : Microsoft.FSharp.Core.FSharpOption<double[]>.Some(InitialF),
            InitialG is null ? null : Microsoft.FSharp.Core.FSharpOption<double[]>.Some(InitialG),
            RequireConvergence,
            progress is null ? null : Microsoft.FSharp.Core.FSharpOption<Microsoft.FSharp.Core.FSharpFunc<SinkhornProgress, Microsoft.FSharp.Core.Unit>>.Some(
                Microsoft.FSharp.Core.FuncConvert.FromAction<SinkhornProgress>(progress.Report)),
            ProgressInterval);
    }
}
