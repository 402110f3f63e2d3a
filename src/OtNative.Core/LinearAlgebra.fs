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
    /// A Aᵀ (full symmetric result).
    abstract Gram: a: Matrix -> Matrix
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

        member _.Gram a =
            let m = toMathNet a
            ofMathNet (m.TransposeAndMultiply m)

        member _.CholeskySolve(a, b) =
            try ofMathNet ((toMathNet a).Cholesky().Solve(toMathNet b))
            with :? ArgumentException as e -> raise (NotPositiveDefiniteException("The matrix is not positive definite: " + e.Message))

/// LAPACKE (dsyevd, dpotrf/dpotrs) and CBLAS (dgemm, dsyrk) through OtNative.Interop.
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

        member _.Gram a =
            let n, k = a.Rows, a.Cols
            let c = Array.zeroCreate (n * n)
            if n > 0 && k > 0 then
                use pa = fixed a.Data
                use pc = fixed c
                NativeLapack.Dsyrk(NativeLapack.RowMajor, NativeLapack.Lower, NativeLapack.NoTrans, n, k, 1.0, pa, k, 0.0, pc, n)
            for i in 0 .. n - 1 do
                for j in i + 1 .. n - 1 do
                    c.[i * n + j] <- c.[j * n + i]
            Matrix(n, n, c)

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
