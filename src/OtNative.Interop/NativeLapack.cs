using System.Runtime.InteropServices;

namespace OtNative.Interop;

/// <summary>
/// Raw bindings to the machine's LAPACKE and CBLAS (Debian: <c>liblapacke</c>, <c>libopenblas0-pthread</c>),
/// resolved at run time through versioned candidate lists. Check <see cref="IsAvailable"/> before calling:
/// without the libraries every entry point throws <see cref="DllNotFoundException"/>.
/// </summary>
internal static unsafe class NativeLapack
{
    /// <summary>Logical name of LAPACKE (candidates in <see cref="NativeResolver.Candidates"/>).</summary>
    public const string LapackeName = "otnative-lapacke";
    /// <summary>Logical name of CBLAS: OpenBLAS first (it carries the CBLAS symbols), then the reference CBLAS.</summary>
    public const string CblasName = "otnative-cblas";

    private static (LoadedLibrary? Lapacke, LoadedLibrary? Cblas) Libraries => (NativeResolver.Get(LapackeName), NativeResolver.Get(CblasName));

    /// <summary>True when both LAPACKE (with dsyevd) and CBLAS (with dgemm) loaded.</summary>
    public static bool IsAvailable =>
        Libraries is { Lapacke: { } l, Cblas: { } c } && l.Export("LAPACKE_dsyevd") != IntPtr.Zero && c.Export("cblas_dgemm") != IntPtr.Zero;

    /// <summary>Which libraries loaded, or why not.</summary>
    public static string Description => Libraries switch
    {
        { Lapacke: { } l, Cblas: { } c } => $"{l.Name} + {c.Name}",
        { Lapacke: null } => "no LAPACKE (apt-get install liblapacke libopenblas0-pthread)",
        _ => "no CBLAS (apt-get install libopenblas0-pthread)",
    };

    /// <summary>Row-major layout flag of LAPACKE and CBLAS.</summary>
    public const int RowMajor = 101;
    /// <summary>Column-major layout flag of LAPACKE and CBLAS (LAPACK's own: LAPACKE passes it through without copying).</summary>
    public const int ColMajor = 102;
    /// <summary>CBLAS: no transpose.</summary>
    public const int NoTrans = 111;
    /// <summary>CBLAS: transpose.</summary>
    public const int Trans = 112;
    /// <summary>CBLAS: lower triangle.</summary>
    public const int Lower = 122;
    /// <summary>CBLAS: non-unit diagonal.</summary>
    public const int NonUnit = 131;
    /// <summary>CBLAS: triangular matrix on the left.</summary>
    public const int Left = 141;

    /// <summary>Symmetric eigen-decomposition by divide and conquer; eigenvalues ascending in w, vectors in a's columns.</summary>
    [DllImport(LapackeName, EntryPoint = "LAPACKE_dsyevd")]
    public static extern int Dsyevd(int layout, byte jobz, byte uplo, int n, double* a, int lda, double* w);

    /// <summary>Cholesky factorisation.</summary>
    [DllImport(LapackeName, EntryPoint = "LAPACKE_dpotrf")]
    public static extern int Dpotrf(int layout, byte uplo, int n, double* a, int lda);

    /// <summary>Solve with a Cholesky factor.</summary>
    [DllImport(LapackeName, EntryPoint = "LAPACKE_dpotrs")]
    public static extern int Dpotrs(int layout, byte uplo, int n, int nrhs, double* a, int lda, double* b, int ldb);

    /// <summary>C = alpha op(A) op(B) + beta C.</summary>
    [DllImport(CblasName, EntryPoint = "cblas_dgemm")]
    public static extern void Dgemm(int layout, int transA, int transB, int m, int n, int k, double alpha, double* a, int lda, double* b, int ldb, double beta, double* c, int ldc);

    /// <summary>C = alpha A Aᵀ + beta C (one triangle).</summary>
    [DllImport(CblasName, EntryPoint = "cblas_dsyrk")]
    public static extern void Dsyrk(int layout, int uplo, int trans, int n, int k, double alpha, double* a, int lda, double beta, double* c, int ldc);

    /// <summary>B = alpha op(A)⁻¹ B for triangular A (side Left).</summary>
    [DllImport(CblasName, EntryPoint = "cblas_dtrsm")]
    public static extern void Dtrsm(int layout, int side, int uplo, int transA, int diag, int m, int n, double alpha, double* a, int lda, double* b, int ldb);
}
