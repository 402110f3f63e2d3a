namespace OtNative.Core

open System.Diagnostics

/// How H⁺ is formed in the dense Hessian (SPEC §3).
type HessianMethod =
    /// Algorithm 1: truncated eigen-decomposition of the (n+m)×(n+m) H-matrix.
    | Eigen
    /// Fast path: eliminate the larger block (f when n ≥ m, else g), truncated eigen-decomposition of
    /// the min(n, m)-sized Schur complement.
    | Schur
    /// No regularisation: every eigenvalue of H inverted, as a plain solve would (comparison only).
    | NoRegularisation

/// Options of the dense Hessian.
type HessianOptions =
    { Method: HessianMethod
      /// Eigenvalues ≤ threshold are dropped (absolute, or relative to λ_max when `Relative`).
      Threshold: float
      Relative: bool
      /// Linear algebra provider; None = the default (`LinearAlgebra.get ()`).
      LinearAlgebra: ILinearAlgebra option }

    /// Algorithm 1 with the absolute threshold 1e-10.
    static member Default = { Method = Eigen; Threshold = 1e-10; Relative = false; LinearAlgebra = None }

/// A dense Hessian and how it was regularised.
type HessianResult =
    { /// ∇²_x L_ε, (n·d)×(n·d), index k·d + q.
      Hessian: Matrix
      Method: HessianMethod
      /// Eigenvalues kept and dropped by the truncation.
      Kept: int
      Dropped: int
      /// Smallest eigenvalue kept (of H, or of the Schur complement).
      SmallestKept: float
      /// The absolute threshold applied.
      Threshold: float
      Elapsed: System.TimeSpan }

/// The plan-dependent pieces every second-order formula uses, from a materialised plan.
type internal PlanMoments =
    { Plan: Matrix
      X: Matrix
      Y: Matrix
      R: float[]
      S: float[]
      /// G_k = Σ_j P_kj ∇c_kj = 2 (r_k x_k − (P y)_k).
      G: Matrix
      Eps: float }

module internal PlanMoments =
    let ofSolution (kernel: ITransportKernel) (res: SinkhornResult) =
        let p = kernel.Problem
        let plan = kernel.Plan(res.Epsilon, res.F, res.G)
        let r, s = HMatrix.marginals plan
        let x, y = p.X, p.Y
        let d = x.Cols
        let g = Matrix.Zeros(p.N, d)
        for k in 0 .. p.N - 1 do
            for j in 0 .. p.M - 1 do
                let pkj = plan.[k, j]
                for q in 0 .. d - 1 do
                    g.[k, q] <- g.[k, q] + 2.0 * pkj * (x.[k, q] - y.[j, q])
        { Plan = plan; X = x; Y = y; R = r; S = s; G = g; Eps = res.Epsilon }

/// The dense Hessian of entropic OT with respect to x (Theorem 3, Algorithm 1, SPEC §3).
module Hessian =
    /// The block-diagonal part: δ_kl (−(1/ε) Σ_j P_kj ∇c ∇cᵀ + 2 r_k I).
    let private addBlockDiagonal (pm: PlanMoments) (h: Matrix) =
        let n, m, d = pm.Plan.Rows, pm.Plan.Cols, pm.X.Cols
        let diff = Array.zeroCreate d
        for k in 0 .. n - 1 do
            for j in 0 .. m - 1 do
                let w = 4.0 * pm.Plan.[k, j] / pm.Eps
                for q in 0 .. d - 1 do diff.[q] <- pm.X.[k, q] - pm.Y.[j, q]
                for q in 0 .. d - 1 do
                    for t in 0 .. d - 1 do
                        h.[k * d + q, k * d + t] <- h.[k * d + q, k * d + t] - w * diff.[q] * diff.[t]
            for q in 0 .. d - 1 do
                h.[k * d + q, k * d + q] <- h.[k * d + q, k * d + q] + 2.0 * pm.R.[k]

    /// R_g (m × nd): R_g[j, k·d+q] = P_kj ∇c_kj,q − shiftByG · P_kj G_kq / r_k.
    let private gBlock (pm: PlanMoments) (schur: bool) =
        let n, m, d = pm.Plan.Rows, pm.Plan.Cols, pm.X.Cols
        let rg = Matrix.Zeros(m, n * d)
        for j in 0 .. m - 1 do
            for k in 0 .. n - 1 do
                let pkj = pm.Plan.[k, j]
                for q in 0 .. d - 1 do
                    let v = 2.0 * (pm.X.[k, q] - pm.Y.[j, q]) - (if schur then pm.G.[k, q] / pm.R.[k] else 0.0)
                    rg.[j, k * d + q] <- pkj * v
        rg

    /// Σ_i (vᵢᵀ R)ᵀ (vᵢᵀ R) wᵢ over kept eigenpairs, as one Gram product of R's projections scaled by √wᵢ.
    let private weightedGram (la: ILinearAlgebra) (r: Matrix) (vectors: Matrix) (weights: float[]) (keep: int[]) =
        let kept = Matrix(vectors.Rows, keep.Length, Array.init (vectors.Rows * keep.Length) (fun t -> vectors.[t / keep.Length, keep.[t % keep.Length]] * sqrt weights.[keep.[t % keep.Length]]))
        la.Gram(la.Multiply(r, true, kept, false))

    let private threshold (o: HessianOptions) (values: float[]) =
        if o.Relative then o.Threshold * Array.max values else o.Threshold

    /// Rᵀ M⁺ R with M⁺ the truncated pseudo-inverse of the symmetric M (H or a Schur complement),
    /// and the spectrum diagnostics.
    let private truncatedGram (la: ILinearAlgebra) (o: HessianOptions) (sym: Matrix) (r: Matrix) =
        let values, vectors = la.SymmetricEigen sym
        let tau = threshold o values
        let keep = [| for i in 0 .. values.Length - 1 do if values.[i] > tau then yield i |]
        let h = weightedGram la r vectors (Array.map (fun v -> 1.0 / v) values) keep
        h, keep.Length, values.Length - keep.Length, (if keep.Length > 0 then values.[keep.[0]] else nan), tau

    /// diag(kept) − coupled, in place.
    let private schurComplement (coupled: Matrix) (kept: float[]) =
        for i in 0 .. coupled.Data.Length - 1 do coupled.Data.[i] <- -coupled.Data.[i]
        for j in 0 .. kept.Length - 1 do coupled.[j, j] <- coupled.[j, j] + kept.[j]
        coupled

    /// The dense (n·d)×(n·d) Hessian.
    let internal computeWith (la: ILinearAlgebra) (pm: PlanMoments) (o: HessianOptions) =
        Validation.positive "threshold" o.Threshold
        let sw = Stopwatch.StartNew()
        let n, m, d = pm.Plan.Rows, pm.Plan.Cols, pm.X.Cols
        let hess, kept, dropped, smallest, tau =
            match o.Method with
            | Eigen | NoRegularisation ->
                // R = [R_f; R_g] with R_f[k, k·d+q] = G_kq.
                let rg = gBlock pm false
                let rfull = Matrix.Zeros(n + m, n * d)
                for k in 0 .. n - 1 do
                    for q in 0 .. d - 1 do rfull.[k, k * d + q] <- pm.G.[k, q]
                Array.blit rg.Data 0 rfull.Data (n * n * d) rg.Data.Length
                if o.Method = Eigen then truncatedGram la o (HMatrix.dense pm.Plan) rfull
                else
                    let values, vectors = la.SymmetricEigen(HMatrix.dense pm.Plan)
                    // Rᵀ V Λ⁻¹ Vᵀ R without truncation: tiny or negative eigenvalues are inverted as they are.
                    let proj = la.Multiply(vectors, true, rfull, false)
                    let scaled = Matrix(proj.Rows, proj.Cols, Array.mapi (fun t v -> v / values.[t / proj.Cols]) proj.Data)
                    la.Multiply(proj, true, scaled, false), values.Length, 0, values.[0], 0.0
            | Schur when n >= m ->
                // Eliminate the f-block: S = diag(s) − Pᵀ diag(1/r) P (m×m), R_S = R_g − Pᵀ diag(1/r) R_f,
                // Hess₁ = (blockdiag(G_k G_kᵀ / r_k) + R_Sᵀ S⁺ R_S)/ε.
                let q = Matrix(n, m, Array.mapi (fun t v -> v / sqrt pm.R.[t / m]) pm.Plan.Data)
                let h, kept, dropped, smallest, tau = truncatedGram la o (schurComplement (la.Multiply(q, true, q, false)) pm.S) (gBlock pm true)
                for k in 0 .. n - 1 do
                    for a in 0 .. d - 1 do
                        for b in 0 .. d - 1 do
                            h.[k * d + a, k * d + b] <- h.[k * d + a, k * d + b] + pm.G.[k, a] * pm.G.[k, b] / pm.R.[k]
                h, kept, dropped, smallest, tau
            | Schur ->
                // n < m: eliminate the larger g-block: S = diag(r) − P diag(1/s) Pᵀ (n×n),
                // R_S = R_f − P diag(1/s) R_g, Hess₁ = (R_gᵀ diag(1/s) R_g + R_Sᵀ S⁺ R_S)/ε.
                let q = Matrix(n, m, Array.mapi (fun t v -> v / sqrt pm.S.[t % m]) pm.Plan.Data)
                let rg = gBlock pm false
                let rgScaled = Matrix(m, n * d, Array.mapi (fun t v -> v / sqrt pm.S.[t / (n * d)]) rg.Data)
                let rs = la.Multiply(q, false, rgScaled, false)
                for i in 0 .. rs.Data.Length - 1 do rs.Data.[i] <- -rs.Data.[i]
                for k in 0 .. n - 1 do
                    for a in 0 .. d - 1 do rs.[k, k * d + a] <- rs.[k, k * d + a] + pm.G.[k, a]
                let h, kept, dropped, smallest, tau = truncatedGram la o (schurComplement (la.Gram q) pm.R) rs
                let direct = la.Multiply(rgScaled, true, rgScaled, false)
                for i in 0 .. h.Data.Length - 1 do h.Data.[i] <- h.Data.[i] + direct.Data.[i]
                h, kept, dropped, smallest, tau
        for i in 0 .. hess.Data.Length - 1 do hess.Data.[i] <- hess.Data.[i] / pm.Eps
        addBlockDiagonal pm hess
        { Hessian = hess; Method = o.Method; Kept = kept; Dropped = dropped; SmallestKept = smallest; Threshold = tau; Elapsed = sw.Elapsed }

    /// The dense Hessian of a solved point-cloud problem.
    let compute (kernel: ITransportKernel) (res: SinkhornResult) (o: HessianOptions) =
        let la = defaultArg o.LinearAlgebra (LinearAlgebra.get ())
        computeWith la (PlanMoments.ofSolution kernel res) o

    /// The paper's accuracy measure (eq. 59): ‖Σ_l Hess[k,:,l,:] − 2 w_k I_d‖_F over all k, with
    /// weights w (the input a, as the paper; the plan's own r makes it vanish to rounding).
    let marginalError (hess: Matrix) (d: int) (w: float[]) =
        let n = w.Length
        let mutable total = 0.0
        for k in 0 .. n - 1 do
            for a in 0 .. d - 1 do
                for b in 0 .. d - 1 do
                    let mutable s = 0.0
                    for l in 0 .. n - 1 do s <- s + hess.[k * d + a, l * d + b]
                    let e = s - (if a = b then 2.0 * w.[k] else 0.0)
                    total <- total + e * e
        sqrt total
