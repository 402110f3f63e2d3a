namespace OtNative;

/// <summary>The dense results whose memory <see cref="EntropicOT.RequireMemory"/> checks before a solve.</summary>
public enum DenseResult
{
    /// <summary>The (n·d)×(n·d) Hessian of entropic OT (<see cref="SinkhornResult.Hessian"/>).</summary>
    Hessian,
    /// <summary>The Hessian of the debiased divergence (<see cref="DivergenceSolution.Hessian"/>): the cross and the self term.</summary>
    DivergenceHessian,
    /// <summary>The (n+m)×(n+m) H-matrix and its eigenvectors (<see cref="SinkhornResult.Spectrum"/>).</summary>
    Spectrum,
}
