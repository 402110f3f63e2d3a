namespace OtNative.Core

#nowarn "9"

open System
open OtNative
open Microsoft.FSharp.NativeInterop
open OtNative.Interop

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
            // A symmetric row-major matrix is its own column-major transpose, and the column-major upper factor U
            // (A = UᵀU) read row-major is the lower factor L: LAPACKE's row-major path would transpose in and out.
            let info = NativeLapack.Dpotrf(NativeLapack.ColMajor, byte 'U', n, pf, n)
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

