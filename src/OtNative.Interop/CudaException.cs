namespace OtNative.Interop;

/// <summary>A CUDA library call failed: which library and call, its status code, and the library's own error text.</summary>
public class CudaException : Exception
{
    /// <summary>Creates the exception.</summary>
    public CudaException(string library, string call, int status, string detail)
        : base($"{library}: {call} failed with status {status} ({detail})")
    {
        Library = library;
        Call = call;
        Status = status;
    }

    /// <summary>CUDA driver, NVRTC, cuBLAS or cuSOLVER.</summary>
    public string Library { get; }

    /// <summary>The C function that failed.</summary>
    public string Call { get; }

    /// <summary>The library's status code.</summary>
    public int Status { get; }
}

/// <summary>NVRTC or the driver's JIT rejected kernel source or PTX; <see cref="Log"/> holds the compiler's log.</summary>
public sealed class KernelCompileException : CudaException
{
    /// <summary>Creates the exception.</summary>
    public KernelCompileException(string library, string call, int status, string log)
        : base(library, call, status, "see Log:\n" + log) => Log = log;

    /// <summary>The compiler or JIT log.</summary>
    public string Log { get; }
}
