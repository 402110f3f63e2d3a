namespace OtNative;

/// <summary>The façade's enums to and from the core's unions.</summary>
internal static class CoreEnums
{
    public static Core.HessianMethod ToCore(HessianMethod method) => method switch
    {
        HessianMethod.Eigen => Core.HessianMethod.Eigen,
        HessianMethod.Schur => Core.HessianMethod.Schur,
        HessianMethod.NoRegularisation => Core.HessianMethod.NoRegularisation,
        _ => throw new ArgumentOutOfRangeException(nameof(method), method, "Unknown Hessian method."),
    };

    public static HessianFactorisation Of(Core.HPlusFactorisation f) =>
        f.IsCertifiedCholesky ? HessianFactorisation.CertifiedCholesky
        : f.IsFullEigen ? HessianFactorisation.FullEigen
        : HessianFactorisation.TruncatedEigen;
}
