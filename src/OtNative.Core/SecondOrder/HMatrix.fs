namespace OtNative.Core

open System
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

    /// The H-matrix's diagonal on a side relaxed by τ at ε: the plan's mass there times 1 + ε/τ (math.md §9), the
    /// mass itself on a balanced side.
    let diagonal (tau: float) (eps: float) (mass: float[]) =
        if Double.IsPositiveInfinity tau then mass else Array.map (fun v -> v * (1.0 + eps / tau)) mass

    /// A solved plan's two H diagonals: r and s, each times 1 + ε/τ on a relaxed side.
    let diagonalsOf (plan: SolvedPlan) =
        let relaxation = plan.Problem.Relaxation
        diagonal relaxation.TauA plan.Epsilon plan.RowMass, diagonal relaxation.TauB plan.Epsilon plan.ColumnMass

    /// The dense (n+m)×(n+m) matrix [[diag(hRow), P], [Pᵀ, diag(hCol)]]: the H-matrix of a relaxed plan, whose
    /// diagonals carry the penalties (`diagonal`).
    let denseWith (plan: Matrix) (hRow: float[]) (hCol: float[]) =
        let n, m = plan.Rows, plan.Cols
        requireMemory n m
        let h = Matrix.Zeros(n + m, n + m)
        for i in 0 .. n - 1 do
            h.[i, i] <- hRow.[i]
            for j in 0 .. m - 1 do
                h.[i, n + j] <- plan.[i, j]
                h.[n + j, i] <- plan.[i, j]
        for j in 0 .. m - 1 do h.[n + j, n + j] <- hCol.[j]
        h

    /// The dense (n+m)×(n+m) H-matrix of a balanced plan.
    let dense (plan: Matrix) =
        let r, s = marginals plan
        denseWith plan r s

    /// Spectrum of a symmetric PSD matrix (H or its Schur complement): with a simple zero eigenvalue when `balanced`
    /// (the smallest positive one is then the second), positive definite otherwise (a relaxed plan's H) except for the
    /// points whose mass the transport left behind: their diagonal entries underflowed to zero, their rows and columns
    /// of H are zero, and each adds a zero eigenvalue (to rounding) that the smallest positive one skips. A relaxed
    /// plan that moved no mass at all has H = 0 and no positive eigenvalue: that fails with a NumericalFailureException.
    let spectrumOf (la: ILinearAlgebra) (balanced: bool) (h: Matrix) =
        let values, _ = la.SymmetricEigen h
        let smallest =
            if balanced then (if values.Length > 1 then values.[1] else nan)
            else
                let leftBehind =
                    Seq.init h.Rows (fun i -> h.[i, i]) |> Seq.filter (fun v -> not (v > 0.0) || Double.IsInfinity(1.0 / v)) |> Seq.length
                if leftBehind >= values.Length then
                    raise (NumericalFailureException(
                        "The plan moved no mass (TransportedMass = 0: every point was left behind, its exponentials underflowed): its H-matrix is zero and has no positive eigenvalue. Use a larger ε or τ, or move the clouds closer.",
                        0, nan))
                values.[leftBehind]
        { Eigenvalues = values; SmallestPositive = smallest; ConditionNumber = values.[values.Length - 1] / smallest }

    /// Spectrum of a balanced plan's H-matrix.
    let spectrum (la: ILinearAlgebra) (plan: Matrix) = spectrumOf la true (dense plan)
