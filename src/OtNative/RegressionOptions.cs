using Microsoft.FSharp.Core;
using OtNative.Applications;

namespace OtNative;

/// <summary>
/// Settings of shuffled regression by SGD → relaxed Newton (Li et al. 2024, Algorithm 2: mini-batch SGD on L_ε(Xθ, Y),
/// then Newton steps η_N · (∇²_θ L)⁻¹ ∇_θ L with the analytic Hessian) and of its gradient-descent baseline. Immutable; use
/// <c>with</c>. Defaults follow that paper's Gaussian-mixture experiment, with the SGD and GD rates scaled to data whose
/// θ* is drawn on X's scale.
/// </summary>
public sealed record RegressionOptions
{
    private static readonly ShuffledRegressionOptions Defaults = ShuffledRegressionOptions.Default;

    /// <summary>ε of the loss L_ε(Xθ, Y): absolute by default (0.05, as in Li et al. 2024's experiments), unlike <see cref="SinkhornOptions"/>'s relative default.</summary>
    public double Epsilon { get; init; } = 0.05;
    /// <summary>When true, ε = <see cref="Epsilon"/> × weighted mean cost of each evaluation's problem. Default false.</summary>
    public bool EpsilonRelative { get; init; }
    /// <summary>Sinkhorn tolerance; null = 0.01 / n^0.33 (Li et al. 2024's choice).</summary>
    public double? SinkhornTolerance { get; init; }
    /// <summary>Rows of X per SGD step. Default 100.</summary>
    public int BatchSize { get; init; } = Defaults.BatchSize;
    /// <summary>SGD learning rate.</summary>
    public double SgdLearningRate { get; init; } = Defaults.SgdLearningRate;
    /// <summary>SGD steps at most before Newton. Default 15.</summary>
    public int MaxSgd { get; init; } = Defaults.MaxSgd;
    /// <summary>Relaxed Newton step η_N. Default 0.5.</summary>
    public double NewtonLearningRate { get; init; } = Defaults.NewtonLearningRate;
    /// <summary>Newton steps at most. Default 50.</summary>
    public int MaxNewton { get; init; } = Defaults.MaxNewton;
    /// <summary>Gradient-descent learning rate of the baseline.</summary>
    public double GdLearningRate { get; init; } = Defaults.GdLearningRate;
    /// <summary>Gradient-descent steps at most. Default 2000.</summary>
    public int MaxGd { get; init; } = Defaults.MaxGd;
    /// <summary>Gradient descent stops within this absolute distance of Newton's final loss. Default 1e-2.</summary>
    public double GdLossGap { get; init; } = Defaults.GdLossGap;
    /// <summary>Seeds the mini-batches.</summary>
    public int Seed { get; init; }
    /// <summary>Where the solves, Hessians and Newton systems run. Default the CPU.</summary>
    public ComputeBackend Backend { get; init; } = ComputeBackend.Cpu;
    /// <summary>Receives every iteration as it is measured.</summary>
    public IProgress<OtNative.RegressionIteration>? Progress { get; init; }

    internal ShuffledRegressionOptions ToCore(CancellationToken cancellation)
    {
        var progress = Progress;
        return new ShuffledRegressionOptions(
            EpsilonRelative ? Core.Epsilon.NewRelativeToMeanCost(Epsilon) : Core.Epsilon.NewAbsolute(Epsilon),
            SinkhornTolerance is { } tol ? FSharpOption<double>.Some(tol) : null,
            Defaults.SinkhornMaxIterations, BatchSize, SgdLearningRate, MaxSgd, Defaults.HessianCheckEvery,
            NewtonLearningRate, Defaults.MaxBacktracking, MaxNewton, Defaults.Patience, Defaults.MinImprovement,
            GdLearningRate, MaxGd, GdLossGap, Seed, Defaults.Cg, Backends.Resolve(Backend), cancellation,
            progress is null ? null : FSharpOption<FSharpFunc<Applications.RegressionIteration, Unit>>.Some(
                FuncConvert.FromAction<Applications.RegressionIteration>(i => progress.Report(OtNative.RegressionIteration.Of(i)))));
    }
}
