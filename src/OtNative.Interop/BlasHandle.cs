namespace OtNative.Interop;

/// <summary>A cuBLAS handle bound to a context's stream.</summary>
public sealed unsafe class BlasHandle : CudaLibraryHandle
{
    private BlasHandle(IntPtr handle) : base(handle, CuBlas.cublasDestroy_v2) { }

    /// <summary>Creates the handle on <paramref name="context"/>'s stream.</summary>
    public static BlasHandle Create(CudaContext context)
    {
        context.MakeCurrent();
        IntPtr handle;
        CuBlas.Check(CuBlas.cublasCreate_v2(&handle), "cublasCreate_v2");
        CuBlas.Check(CuBlas.cublasSetStream_v2(handle, context.Stream), "cublasSetStream_v2");
        return new BlasHandle(handle);
    }
}
