namespace OtNative.Core

open OtNative
/// The spectrum of the H-matrix (math.md §4).
type HSpectrum =
    { /// All eigenvalues, ascending.
      Eigenvalues: float[]
      /// λ_{n+m−1}: the second smallest eigenvalue (the smallest is the simple zero of Theorem 5).
      SmallestPositive: float
      /// λ_max / λ_{n+m−1}, the effective condition number.
      ConditionNumber: float }

/// The H-matrix [[diag(r), P], [Pᵀ, diag(s)]] of a plan, built from the plan's own marginals.
module HMatrix =
    /// Row and column sums of a materialised plan.
    let marginals (plan: Matrix) =
        let n, m = plan.Rows, plan.Cols
        let r = Array.init n (fun i -> let mutable s = 0.0 in (for j in 0 .. m - 1 do s <- s + plan.[i, j]); s)
        let c = Array.zeroCreate m
        for i in 0 .. n - 1 do
            for j in 0 .. m - 1 do
                c.[j] <- c.[j] + plan.[i, j]
        r, c

    /// Refuses, before anything is allocated (or solved), an H-matrix (and its eigenvectors) that cannot fit.
    let requireMemory (n: int) (m: int) =
        let size = float (n + m)
        DenseRequest.require (sprintf "The dense %d × %d H-matrix and its eigenvectors" (n + m) (n + m)) (8.0 * (float n * float m + (2.0 + DenseRequest.eigenWorkspace) * size * size)) (size * size)
            "the spectrum is a dense computation; Hessian-vector products need no H-matrix, and their CG report says how conditioned it is"

    /// The dense (n+m)×(n+m) H-matrix.
    let dense (plan: Matrix) =
        let n, m = plan.Rows, plan.Cols
        requireMemory n m
        let r, s = marginals plan
        let h = Matrix.Zeros(n + m, n + m)
        for i in 0 .. n - 1 do
            h.[i, i] <- r.[i]
            for j in 0 .. m - 1 do
                h.[i, n + j] <- plan.[i, j]
                h.[n + j, i] <- plan.[i, j]
        for j in 0 .. m - 1 do h.[n + j, n + j] <- s.[j]
        h

    /// Spectrum of a symmetric PSD matrix with a simple zero eigenvalue (H or its Schur complement).
    let spectrumOf (la: ILinearAlgebra) (h: Matrix) =
        let values, _ = la.SymmetricEigen h
        let second = if values.Length > 1 then values.[1] else nan
        { Eigenvalues = values; SmallestPositive = second; ConditionNumber = values.[values.Length - 1] / second }

    /// Spectrum of the plan's H-matrix.
    let spectrum (la: ILinearAlgebra) (plan: Matrix) = spectrumOf la (dense plan)
