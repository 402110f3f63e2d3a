namespace OtNative.Interop;

/// <summary>A cuBLAS handle bound to a context's stream.</summary>
public sealed unsafe class BlasHandle : CudaLibraryHandle
{
    private BlasHandle(CudaContext context)
        : base(context, &CuBlas.cublasCreate_v2, "cublasCreate_v2", &CuBlas.cublasSetStream_v2, "cublasSetStream_v2", &CuBlas.cublasDestroy_v2, CuBlas.Check) { }

    /// <summary>Creates the handle on <paramref name="context"/>'s stream.</summary>
    public static BlasHandle Create(CudaContext context) => new(context);
}
