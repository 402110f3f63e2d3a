namespace OtNative.Interop;

/// <summary>A handle of a CUDA library (cuBLAS, cuSOLVER) bound to a context's stream, destroyed once on disposal.</summary>
public abstract unsafe class CudaLibraryHandle : IDisposable
{
    private readonly delegate*<IntPtr, int> _destroy;

    /// <summary>Creates a library handle current on <paramref name="context"/> and binds it to the context's stream.</summary>
    private protected CudaLibraryHandle(CudaContext context, delegate*<IntPtr*, int> create, string createName,
        delegate*<IntPtr, IntPtr, int> setStream, string setStreamName, delegate*<IntPtr, int> destroy, Action<int, string> check)
    {
        context.MakeCurrent();
        IntPtr handle;
        check(create(&handle), createName);
        Handle = handle;
        _destroy = destroy;
        check(setStream(handle, context.Stream), setStreamName);
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
