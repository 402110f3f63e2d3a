namespace OtNative.Interop;

/// <summary>A handle of a CUDA library (cuBLAS, cuSOLVER) bound to a context's stream, destroyed once on disposal.</summary>
public abstract class CudaLibraryHandle : IDisposable
{
    private readonly Func<IntPtr, int> _destroy;

    private protected CudaLibraryHandle(IntPtr handle, Func<IntPtr, int> destroy)
    {
        Handle = handle;
        _destroy = destroy;
    }

    /// <summary>The library's handle (cublasHandle_t, cusolverDnHandle_t); zero once disposed.</summary>
    public IntPtr Handle { get; private set; }

    /// <inheritdoc />
    public void Dispose()
    {
        if (Handle == IntPtr.Zero) return;
        _destroy(Handle);
        Handle = IntPtr.Zero;
    }
}
