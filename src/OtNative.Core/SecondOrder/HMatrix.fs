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

    /// The paper's circle example (math.md §4): n equally spaced points θ_k = 2πk/n on the unit circle,
    /// y = x, uniform weights. Returns the points and the exactly optimal plan K/(nκ).
    let circle (n: int) (eps: float) =
        let x = Matrix(n, 2, Array.init (2 * n) (fun t -> let k = t / 2 in if t % 2 = 0 then cos (2.0 * System.Math.PI * float k / float n) else sin (2.0 * System.Math.PI * float k / float n)))
        // C_ij = ‖x_i − x_j‖² = 4 sin²(π(i−j)/n): circulant, so K/(nκ) has uniform marginals exactly.
        let k0 = Array.init n (fun j -> exp (-4.0 * (sin (System.Math.PI * float j / float n)) ** 2.0 / eps))
        let kappa = Array.sum k0
        let plan = Matrix(n, n, Array.init (n * n) (fun t -> k0.[((t % n) - (t / n) + n) % n] / (float n * kappa)))
        x, plan

    /// σ₂ of the circle plan: Σ_j K_0j cos(2πj/n) / (nκ) (the circulant's second eigenvalue).
    let circleSigma2 (n: int) (eps: float) =
        let k0 = Array.init n (fun j -> exp (-4.0 * (sin (System.Math.PI * float j / float n)) ** 2.0 / eps))
        let weighted = Array.mapi (fun j k -> k * cos (2.0 * System.Math.PI * float j / float n)) k0 |> Array.sum
        weighted / (float n * Array.sum k0)

    /// λ_{2n−1} = 1/n − σ₂ for the circle (Corollary 10).
    let circleSmallestPositive (n: int) (eps: float) = 1.0 / float n - circleSigma2 n eps
