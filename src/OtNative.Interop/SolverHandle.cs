namespace OtNative.Interop;

/// <summary>A cuSOLVER dense handle bound to a context's stream; <see cref="CheckInfo"/> reads devInfo after every factorisation.</summary>
public sealed unsafe class SolverHandle : CudaLibraryHandle
{
    private SolverHandle(CudaContext context)
        : base(context, &CuSolver.cusolverDnCreate, "cusolverDnCreate", &CuSolver.cusolverDnSetStream, "cusolverDnSetStream", &CuSolver.cusolverDnDestroy, CuSolver.Check) { }

    /// <summary>Creates the handle on <paramref name="context"/>'s stream.</summary>
    public static SolverHandle Create(CudaContext context) => new(context);

    /// <summary>Throws when a factorisation's devInfo is not 0 (negative: bad argument; positive: it did not converge or is not PD).</summary>
    public static void CheckInfo(DeviceBuffer<int> devInfo, string call)
    {
        var info = devInfo.Download()[0];
        if (info != 0) throw new CudaException("cuSOLVER", call, info, info < 0 ? $"argument {-info} is invalid" : $"devInfo = {info}: the factorisation failed");
    }
}
