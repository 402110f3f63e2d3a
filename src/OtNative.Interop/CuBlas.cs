using System.Runtime.InteropServices;

namespace OtNative.Interop;

/// <summary>Raw cuBLAS (<c>libcublas.so.13/.12/.11</c>), the <c>_v2</c> entry points. Matrices are column-major.</summary>
internal static unsafe class CuBlas
{
    /// <summary>Logical library name (candidates in <see cref="NativeResolver.Candidates"/>).</summary>
    public const string Library = "otnative-cublas";

    /// <summary>CUBLAS_OP_N, CUBLAS_OP_T; CUBLAS_FILL_MODE_LOWER/UPPER; CUBLAS_SIDE_RIGHT; CUBLAS_DIAG_NON_UNIT.</summary>
    public const int OpN = 0, OpT = 1, FillLower = 0, FillUpper = 1, SideRight = 1, DiagNonUnit = 0;

    [DllImport(Library)] public static extern int cublasCreate_v2(IntPtr* handle);
    [DllImport(Library)] public static extern int cublasDestroy_v2(IntPtr handle);
    [DllImport(Library)] public static extern int cublasSetStream_v2(IntPtr handle, IntPtr stream);
    [DllImport(Library)] public static extern int cublasGetVersion_v2(IntPtr handle, int* version);
    [DllImport(Library)] public static extern int cublasDgemm_v2(IntPtr handle, int transA, int transB, int m, int n, int k,
        double* alpha, ulong a, int lda, ulong b, int ldb, double* beta, ulong c, int ldc);
    [DllImport(Library)] public static extern int cublasDsyrk_v2(IntPtr handle, int uplo, int trans, int n, int k,
        double* alpha, ulong a, int lda, double* beta, ulong c, int ldc);

    [DllImport(Library)] public static extern int cublasDtrsm_v2(IntPtr handle, int side, int uplo, int trans, int diag, int m, int n,
        double* alpha, ulong a, int lda, ulong b, int ldb);

    /// <summary>Throws <see cref="CudaException"/> for a non-zero cublasStatus_t.</summary>
    public static void Check(int status, string call)
    {
        if (status != 0) throw new CudaException("cuBLAS", call, status, $"cublasStatus_t {status}");
    }
}
