namespace OtNative.Core

#nowarn "9"

open System
open Microsoft.FSharp.NativeInterop
open MathNet.Numerics.LinearAlgebra
open OtNative.Interop

/// Raised when a matrix that must be positive definite (a Newton system, a Cholesky solve) is not.
type NotPositiveDefiniteException(message: string) =
    inherit Exception(message)

/// Dense float64 linear algebra, chosen at run time like Math.NET's providers: native LAPACK/BLAS
/// when the libraries load, managed Math.NET otherwise.
type ILinearAlgebra =
    /// `native (…)` or `managed (Math.NET)`.
    abstract Name: string
    /// Symmetric eigen-decomposition: eigenvalues ascending and the eigenvectors as columns.
    abstract SymmetricEigen: a: Matrix -> float[] * Matrix
    /// op(A) op(B), op = transpose when the flag is set.
    abstract Multiply: a: Matrix * transposeA: bool * b: Matrix * transposeB: bool -> Matrix
    /// A Aᵀ, or Aᵀ A when `transposed` (full symmetric result).
    abstract Gram: a: Matrix * transposed: bool -> Matrix
    /// The lower Cholesky factor L (A = L Lᵀ) of a symmetric matrix, or None when it is not
    /// numerically positive definite.
    abstract CholeskyFactor: a: Matrix -> Matrix option
    /// L⁻¹ B for a lower-triangular L, or L⁻ᵀ B when `transposed`.
    abstract SolveLower: l: Matrix * b: Matrix * transposed: bool -> Matrix
    /// Solves A X = B for symmetric positive definite A; NotPositiveDefiniteException otherwise.
    abstract CholeskySolve: a: Matrix * b: Matrix -> Matrix

/// Math.NET Numerics' managed algorithms: always available, slower.
[<Sealed>]
type ManagedLinearAlgebra() =
    static let toMathNet (m: Matrix) = Matrix<float>.Build.DenseOfRowMajor(m.Rows, m.Cols, m.Data)
    static let ofMathNet (m: Matrix<float>) = Matrix(m.RowCount, m.ColumnCount, m.ToRowMajorArray())

    interface ILinearAlgebra with
        member _.Name = "managed (Math.NET Numerics)"

        member _.SymmetricEigen a =
            let evd = (toMathNet a).Evd(Symmetricity.Symmetric)
            let values = evd.EigenValues.Map(fun c -> c.Real).ToArray()
            let order = Array.init values.Length id |> Array.sortBy (fun i -> values.[i])
            let vectors = evd.EigenVectors
            let sorted = Matrix<float>.Build.Dense(a.Rows, a.Rows, fun i j -> vectors.[i, order.[j]])
            Array.map (fun i -> values.[i]) order, ofMathNet sorted

        member _.Multiply(a, ta, b, tb) =
            let ma, mb = toMathNet a, toMathNet b
            let ma = if ta then ma.Transpose() else ma
            let mb = if tb then mb.Transpose() else mb
            ofMathNet (ma * mb)

        member _.Gram(a, transposed) =
            let m = toMathNet a
            ofMathNet (if transposed then m.TransposeThisAndMultiply m else m.TransposeAndMultiply m)

        member _.CholeskyFactor a =
            try Some(ofMathNet ((toMathNet a).Cholesky().Factor))
            with :? ArgumentException -> None

        member _.SolveLower(l, b, transposed) =
            // Substitution row by row (row-major: each step is a contiguous axpy); Lᵀ runs backwards.
            let n, k = b.Rows, b.Cols
            let x = Array.copy b.Data
            let order = if transposed then [| n - 1 .. -1 .. 0 |] else [| 0 .. n - 1 |]
            for i in order do
                let earlier = if transposed then [| i + 1 .. n - 1 |] else [| 0 .. i - 1 |]
                for t in earlier do
                    let lit = if transposed then l.Data.[t * n + i] else l.Data.[i * n + t]
                    if lit <> 0.0 then
                        for c in 0 .. k - 1 do x.[i * k + c] <- x.[i * k + c] - lit * x.[t * k + c]
                let inv = 1.0 / l.Data.[i * n + i]
                for c in 0 .. k - 1 do x.[i * k + c] <- x.[i * k + c] * inv
            Matrix(n, k, x)

        member _.CholeskySolve(a, b) =
            try ofMathNet ((toMathNet a).Cholesky().Solve(toMathNet b))
            with :? ArgumentException as e -> raise (NotPositiveDefiniteException("The matrix is not positive definite: " + e.Message))

module internal Symmetric =
    /// Copies the lower triangle of a row-major n×n matrix to the upper one, in cache-sized blocks.
    let mirrorLower n (c: float[]) =
        let block = 64
        for ib in 0 .. block .. n - 1 do
            for jb in ib .. block .. n - 1 do
                for i in ib .. min (n - 1) (ib + block - 1) do
                    for j in max jb (i + 1) .. min (n - 1) (jb + block - 1) do
                        c.[i * n + j] <- c.[j * n + i]

/// LAPACKE (dsyevd, dpotrf/dpotrs) and CBLAS (dgemm, dsyrk, dtrsm) through OtNative.Interop.
[<Sealed>]
type NativeLinearAlgebra() =
    static let check name info =
        if info <> 0 then raise (InvalidOperationException(sprintf "LAPACK %s failed with info = %d." name info))

    interface ILinearAlgebra with
        member _.Name = "native (" + NativeLapack.Description + ")"

        member _.SymmetricEigen a =
            let n = a.Rows
            let v = Array.copy a.Data
            let w = Array.zeroCreate n
            use pv = fixed v
            use pw = fixed w
            check "dsyevd" (NativeLapack.Dsyevd(NativeLapack.RowMajor, byte 'V', byte 'L', n, pv, n, pw))
            w, Matrix(n, n, v)

        member _.Multiply(a, ta, b, tb) =
            let m, k = (if ta then a.Cols, a.Rows else a.Rows, a.Cols)
            let k2, n = (if tb then b.Cols, b.Rows else b.Rows, b.Cols)
            if k <> k2 then invalidArg "b" (sprintf "Inner dimensions differ: %d and %d." k k2)
            let c = Array.zeroCreate (m * n)
            if m > 0 && n > 0 && k > 0 then
                use pa = fixed a.Data
                use pb = fixed b.Data
                use pc = fixed c
                NativeLapack.Dgemm(NativeLapack.RowMajor, (if ta then NativeLapack.Trans else NativeLapack.NoTrans),
                                   (if tb then NativeLapack.Trans else NativeLapack.NoTrans),
                                   m, n, k, 1.0, pa, max 1 a.Cols, pb, max 1 b.Cols, 0.0, pc, max 1 n)
            Matrix(m, n, c)

        member _.Gram(a, transposed) =
            let n, k = (if transposed then a.Cols, a.Rows else a.Rows, a.Cols)
            let c = Array.zeroCreate (n * n)
            if n > 0 && k > 0 then
                use pa = fixed a.Data
                use pc = fixed c
                NativeLapack.Dsyrk(NativeLapack.RowMajor, NativeLapack.Lower, (if transposed then NativeLapack.Trans else NativeLapack.NoTrans),
                                   n, k, 1.0, pa, max 1 a.Cols, 0.0, pc, n)
            Symmetric.mirrorLower n c
            Matrix(n, n, c)

        member _.CholeskyFactor a =
            let n = a.Rows
            let f = Array.copy a.Data
            use pf = fixed f
            let info = NativeLapack.Dpotrf(NativeLapack.RowMajor, byte 'L', n, pf, n)
            if info > 0 then None
            else
                check "dpotrf" info
                for i in 0 .. n - 1 do Array.fill f (i * n + i + 1) (n - i - 1) 0.0
                Some(Matrix(n, n, f))

        member _.SolveLower(l, b, transposed) =
            let x = Array.copy b.Data
            if b.Rows > 0 && b.Cols > 0 then
                use pl = fixed l.Data
                use px = fixed x
                NativeLapack.Dtrsm(NativeLapack.RowMajor, NativeLapack.Left, NativeLapack.Lower,
                                   (if transposed then NativeLapack.Trans else NativeLapack.NoTrans), NativeLapack.NonUnit,
                                   b.Rows, b.Cols, 1.0, pl, l.Cols, px, b.Cols)
            Matrix(b.Rows, b.Cols, x)

        member _.CholeskySolve(a, b) =
            let n = a.Rows
            let f = Array.copy a.Data
            let x = Array.copy b.Data
            use pf = fixed f
            use px = fixed x
            let info = NativeLapack.Dpotrf(NativeLapack.RowMajor, byte 'L', n, pf, n)
            if info > 0 then raise (NotPositiveDefiniteException(sprintf "The matrix is not positive definite (leading minor %d)." info))
            check "dpotrf" info
            check "dpotrs" (NativeLapack.Dpotrs(NativeLapack.RowMajor, byte 'L', n, b.Cols, pf, n, px, b.Cols))
            Matrix(b.Rows, b.Cols, x)

/// The provider in use. Native when LAPACKE and CBLAS load, unless OTNATIVE_LINALG=managed.
module LinearAlgebra =
    /// The managed provider (always available).
    let managed = ManagedLinearAlgebra() :> ILinearAlgebra

    /// The native provider, when the libraries load here.
    let native = if NativeLapack.IsAvailable then Some(NativeLinearAlgebra() :> ILinearAlgebra) else None

    let mutable private current =
        match Environment.GetEnvironmentVariable "OTNATIVE_LINALG", native with
        | "managed", _ | _, None -> managed
        | _, Some n -> n

    /// The provider used by default.
    let get () = current

    /// Replaces the default provider (for benchmarks and tests).
    let set (provider: ILinearAlgebra) = current <- provider
