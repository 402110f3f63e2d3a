using System.Runtime.InteropServices;

namespace OtNative.Interop;

/// <summary>Raw cuSOLVER dense (<c>libcusolver.so.12/.11</c>). Every factorisation's devInfo must be checked.</summary>
internal static unsafe class CuSolver
{
    /// <summary>Logical library name (candidates in <see cref="NativeResolver.Candidates"/>).</summary>
    public const string Library = "otnative-cusolver";

    /// <summary>CUSOLVER_EIG_MODE_VECTOR.</summary>
    public const int EigModeVector = 1;

    [DllImport(Library)] public static extern int cusolverDnCreate(IntPtr* handle);
    [DllImport(Library)] public static extern int cusolverDnDestroy(IntPtr handle);
    [DllImport(Library)] public static extern int cusolverDnSetStream(IntPtr handle, IntPtr stream);
    [DllImport(Library)] public static extern int cusolverDnDsyevd_bufferSize(IntPtr handle, int jobz, int uplo, int n, ulong a, int lda, ulong w, int* lwork);
    [DllImport(Library)] public static extern int cusolverDnDsyevd(IntPtr handle, int jobz, int uplo, int n, ulong a, int lda, ulong w, ulong work, int lwork, ulong devInfo);
    [DllImport(Library)] public static extern int cusolverDnDpotrf_bufferSize(IntPtr handle, int uplo, int n, ulong a, int lda, int* lwork);
    [DllImport(Library)] public static extern int cusolverDnDpotrf(IntPtr handle, int uplo, int n, ulong a, int lda, ulong work, int lwork, ulong devInfo);

    /// <summary>Throws <see cref="CudaException"/> for a non-zero cusolverStatus_t.</summary>
    public static void Check(int status, string call)
    {
        if (status != 0) throw new CudaException("cuSOLVER", call, status, $"cusolverStatus_t {status}");
    }
}
