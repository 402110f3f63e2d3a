namespace OtNative.Core

// 9 and 51: cuBLAS/cuSOLVER take pinned host pointers and addresses of scalar locals (alpha, beta, devInfo).
#nowarn "9" "51"

open System
open Microsoft.FSharp.NativeInterop
open OtNative
open OtNative.Interop

/// Dense linear algebra on the GPU: cuBLAS (GEMM, SYRK, TRSM) and cuSOLVER (syevd, potrf, devInfo checked), on the
/// CUDA backend's context. Our matrices are row-major and cuBLAS is column-major: a row-major M is the column-major
/// Mᵀ, so each call is the transposed identity of what it computes. Inputs are uploaded and results downloaded per call.
[<Sealed>]
type CudaLinearAlgebra(context: CudaContext) =
    let blas = lazy (BlasHandle.Create context)
    let solver = lazy (SolverHandle.Create context)
    let upload (m: Matrix) = DeviceBuffer<float>.Upload(ReadOnlySpan m.Data)
    /// A column-major n×n download as a row-major matrix.
    let ofColumnMajor n (data: float[]) = Matrix(n, n, data).Transpose()
    let mirrorLower n (c: float[]) =
        Symmetric.mirrorLower n c
        c

    interface ILinearAlgebra with
        member _.Name = sprintf "cuda (cuBLAS + cuSOLVER on %s)" context.Device.Name

        member _.Multiply(a, ta, b, tb) =
            context.MakeCurrent()
            let m, k = (if ta then a.Cols, a.Rows else a.Rows, a.Cols)
            let k2, n = (if tb then b.Cols, b.Rows else b.Rows, b.Cols)
            if k <> k2 then invalidArg "b" (sprintf "Inner dimensions differ: %d and %d." k k2)
            use da = upload a
            use db = upload b
            use dc = DeviceBuffer<float>.Allocate(m * n)
            let mutable one = 1.0
            let mutable zero = 0.0
            // Row-major C = op(A) op(B) is column-major Cᵀ = op(B)ᵀ op(A)ᵀ on the stored Bᵀ and Aᵀ.
            CuBlas.Check(CuBlas.cublasDgemm_v2(blas.Value.Handle, (if tb then CuBlas.OpT else CuBlas.OpN), (if ta then CuBlas.OpT else CuBlas.OpN),
                                               n, m, k, &&one, db.Pointer, max 1 b.Cols, da.Pointer, max 1 a.Cols, &&zero, dc.Pointer, max 1 n), "cublasDgemm_v2")
            Matrix(m, n, dc.Download())

        member _.Gram(a, transposed) =
            context.MakeCurrent()
            let n, k = (if transposed then a.Cols, a.Rows else a.Rows, a.Cols)
            use da = upload a
            use dc = DeviceBuffer<float>.Allocate(n * n)
            let mutable one = 1.0
            let mutable zero = 0.0
            // The stored Aᵀ (column-major, ld = a.Cols): A Aᵀ = (Aᵀ)ᵀ(Aᵀ) is SYRK with trans = T; Aᵀ A is trans = N.
            CuBlas.Check(CuBlas.cublasDsyrk_v2(blas.Value.Handle, CuBlas.FillLower, (if transposed then CuBlas.OpN else CuBlas.OpT),
                                               n, k, &&one, da.Pointer, max 1 a.Cols, &&zero, dc.Pointer, max 1 n), "cublasDsyrk_v2")
            // Column-major lower = row-major upper: transpose, then mirror.
            Matrix(n, n, mirrorLower n (ofColumnMajor n (dc.Download())).Data)

        member _.SymmetricEigen a =
            context.MakeCurrent()
            let n = a.Rows
            use da = upload a
            use dw = DeviceBuffer<float>.Allocate n
            use info = DeviceBuffer<int>.Allocate 1
            let mutable lwork = 0
            CuSolver.Check(CuSolver.cusolverDnDsyevd_bufferSize(solver.Value.Handle, CuSolver.EigModeVector, CuBlas.FillLower, n, da.Pointer, n, dw.Pointer, &&lwork), "cusolverDnDsyevd_bufferSize")
            use work = DeviceBuffer<float>.Allocate(max 1 lwork)
            CuSolver.Check(CuSolver.cusolverDnDsyevd(solver.Value.Handle, CuSolver.EigModeVector, CuBlas.FillLower, n, da.Pointer, n, dw.Pointer, work.Pointer, lwork, info.Pointer), "cusolverDnDsyevd")
            SolverHandle.CheckInfo(info, "cusolverDnDsyevd")
            // Eigenvectors come back as columns of a column-major matrix.
            dw.Download(), ofColumnMajor n (da.Download())

        member _.CholeskyFactor a =
            context.MakeCurrent()
            let n = a.Rows
            use da = upload a
            use info = DeviceBuffer<int>.Allocate 1
            let mutable lwork = 0
            CuSolver.Check(CuSolver.cusolverDnDpotrf_bufferSize(solver.Value.Handle, CuBlas.FillLower, n, da.Pointer, n, &&lwork), "cusolverDnDpotrf_bufferSize")
            use work = DeviceBuffer<float>.Allocate(max 1 lwork)
            CuSolver.Check(CuSolver.cusolverDnDpotrf(solver.Value.Handle, CuBlas.FillLower, n, da.Pointer, n, work.Pointer, lwork, info.Pointer), "cusolverDnDpotrf")
            match info.Download().[0] with
            | 0 ->
                let l = (ofColumnMajor n (da.Download())).Data
                for i in 0 .. n - 1 do Array.fill l (i * n + i + 1) (n - i - 1) 0.0
                Some(Matrix(n, n, l))
            | v when v > 0 -> None
            | v -> raise (CudaException("cuSOLVER", "cusolverDnDpotrf", v, sprintf "argument %d is invalid" -v))

        member _.SolveLower(l, b, transposed) =
            context.MakeCurrent()
            use dl = upload l
            use db = upload b
            let mutable one = 1.0
            // Stored L is column-major Lᵀ (upper); stored B is Bᵀ: L X = B ⇔ Xᵀ = Bᵀ (Lᵀ)⁻¹, Lᵀ X = B ⇔ Xᵀ = Bᵀ L⁻¹.
            CuBlas.Check(CuBlas.cublasDtrsm_v2(blas.Value.Handle, CuBlas.SideRight, CuBlas.FillUpper, (if transposed then CuBlas.OpT else CuBlas.OpN), CuBlas.DiagNonUnit,
                                               b.Cols, b.Rows, &&one, dl.Pointer, l.Cols, db.Pointer, max 1 b.Cols), "cublasDtrsm_v2")
            Matrix(b.Rows, b.Cols, db.Download())

        member this.CholeskySolve(a, b) =
            let la = this :> ILinearAlgebra
            match la.CholeskyFactor a with
            | Some l -> la.SolveLower(l, la.SolveLower(l, b, false), true)
            | None -> raise (NotPositiveDefiniteException "The matrix is not positive definite (cusolverDnDpotrf).")
