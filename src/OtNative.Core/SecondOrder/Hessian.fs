namespace OtNative.Core

open OtNative
open System.Diagnostics

/// How H⁺ is formed in the dense Hessian (math.md §3).
type HessianMethod =
    /// Algorithm 1: truncated eigen-decomposition of the (n+m)×(n+m) H-matrix.
    | Eigen
    /// Fast path: eliminate the larger block (f when n ≥ m, else g), truncated eigen-decomposition of
    /// the min(n, m)-sized Schur complement.
    | Schur
    /// No regularisation: every eigenvalue of H inverted, as a plain solve would (comparison only).
    | NoRegularisation

/// How the (pseudo-)inverse of H or of its Schur complement was applied.
type HPlusFactorisation =
    /// Eigen-decomposition with eigenvalues ≤ τ dropped (Algorithm 1).
    | TruncatedEigen
    /// Eigen-decomposition with every eigenvalue inverted, tiny or negative ones included (`NoRegularisation`).
    | FullEigen
    /// Schur fast path when a Cholesky factorisation of S + c·11ᵀ − τI succeeded: by Sylvester's inertia every
    /// eigenvalue of S except the null one exceeds τ, so the truncation drops only the null vector and
    /// Rᵀ S⁺ R = ‖L⁻¹ R‖² with L the Cholesky factor of S + c·11ᵀ (R ⟂ 1). Same result, no eigen-decomposition.
    | CertifiedCholesky

/// Options of the dense Hessian.
type HessianOptions =
    { Method: HessianMethod
      /// Eigenvalues ≤ threshold are dropped (absolute, or relative to λ_max when `Relative`).
      Threshold: float
      Relative: bool
      /// Checked between the stages of the computation (plan, factorisation, products).
      Cancellation: System.Threading.CancellationToken }

    /// Algorithm 1 with the absolute threshold 1e-10.
    static member Default = { Method = Eigen; Threshold = 1e-10; Relative = false; Cancellation = System.Threading.CancellationToken.None }

/// A dense Hessian and how it was regularised.
type HessianResult =
    { /// ∇²_x L_ε, (n·d)×(n·d), index k·d + q.
      Hessian: Matrix
      Method: HessianMethod
      /// Eigenvalues kept and dropped by the truncation.
      Kept: int
      Dropped: int
      /// Smallest eigenvalue kept (of H, or of the Schur complement): exact after an eigen-decomposition, an
      /// Lanczos estimate (from above; τ bounds it from below) after a certified Cholesky.
      SmallestKept: float
      Factorisation: HPlusFactorisation
      /// The absolute threshold applied.
      Threshold: float
      Elapsed: System.TimeSpan }

/// Rᵀ M⁺ R for a symmetric M (H or a Schur complement) and what the pseudo-inverse kept.
type internal PseudoInverseGram =
    { Gram: Matrix
      Kept: int
      Dropped: int
      SmallestKept: float
      Threshold: float
      Factorisation: HPlusFactorisation }

/// The dense Hessian of entropic OT with respect to x (Theorem 3, Algorithm 1, math.md §3).
module Hessian =
    /// The side of the R tensor's cache tiles: 64 × 64 pairs read 32 KiB of the plan.
    let private rTile = 64

    /// R_g (m × nd) times `scale`: R_g[j, k·d+q] = P_kj ∇c_kj,q, less P_kj G_kq / r_k when `shiftedByG` (the Schur path's
    /// R_S when the f-block is eliminated). The dense Hessian builds its R scaled by 1/√ε, so that its Gram products come
    /// out divided by ε without a pass over the result.
    let private gBlock (pm: DensePlan) (shiftedByG: bool) (scale: float) =
        let n, m, d = pm.Plan.Rows, pm.Plan.Cols, pm.X.Cols
        // 2(x_k − y_j) is formed before G/r is subtracted: both are of the spread's size, x alone need not be.
        let gOverR = Array.init (n * d) (fun t -> if shiftedByG then PlanMass.over pm.HRow.[t / d] pm.Gradient.Data.[t] else 0.0)
        match pm.Kernels with
        | Some kernels -> kernels.Contractions.RBlock(pm.Eps, kernels.F, kernels.G, gOverR, scale)
        | None ->
            let rg = Array.zeroCreate (m * n * d)
            let plan, x, y = pm.Plan.Data, pm.X.Data, pm.Y.Data
            // R_g's row j reads the plan's column j: in tiles of rTile × rTile pairs, the plan's rows are read in
            // runs of rTile and both tiles stay in cache (column by column, every read was a cache miss).
            let tiles = (m + rTile - 1) / rTile
            System.Threading.Tasks.Parallel.For(0, tiles, Parallelism.capped (), fun tile ->
                let j0, j1 = tile * rTile, min m (tile * rTile + rTile)
                for k0 in 0 .. rTile .. n - 1 do
                    for j in j0 .. j1 - 1 do
                        let row = j * n * d
                        for k in k0 .. min n (k0 + rTile) - 1 do
                            let pkj = scale * plan.[k * m + j]
                            for q in 0 .. d - 1 do
                                rg.[row + k * d + q] <- pkj * (2.0 * (x.[k * d + q] - y.[j * d + q]) - gOverR.[k * d + q]))
            |> ignore
            Matrix(m, n * d, rg)

    /// R = [R_f; R_g] ((n + m) × nd) times `scale`, with R_f[k, k·d+q] = G_kq: the right-hand side of H z = R A
    /// (Theorem 3).
    let internal rightHandSide (pm: DensePlan) (scale: float) =
        let n, m, d = pm.Plan.Rows, pm.Plan.Cols, pm.X.Cols
        let rg = gBlock pm false scale
        let rfull = Matrix.Zeros(n + m, n * d)
        for k in 0 .. n - 1 do
            for q in 0 .. d - 1 do rfull.[k, k * d + q] <- scale * pm.Gradient.[k, q]
        Array.blit rg.Data 0 rfull.Data (n * n * d) rg.Data.Length
        rfull

    /// diag(w) A, rows in parallel (an n×m plan is megabytes: one thread would leave the other cores idle).
    let private scaleRows (w: float[]) (a: Matrix) =
        let out = Array.zeroCreate a.Data.Length
        System.Threading.Tasks.Parallel.For(0, a.Rows, Parallelism.capped (), fun i ->
            let wi = w.[i]
            for j in i * a.Cols .. (i + 1) * a.Cols - 1 do out.[j] <- a.Data.[j] * wi)
        |> ignore
        Matrix(a.Rows, a.Cols, out)

    /// A diag(w), rows in parallel.
    let private scaleColumns (w: float[]) (a: Matrix) =
        let out = Array.zeroCreate a.Data.Length
        System.Threading.Tasks.Parallel.For(0, a.Rows, Parallelism.capped (), fun i ->
            let row = i * a.Cols
            for j in 0 .. a.Cols - 1 do out.[row + j] <- a.Data.[row + j] * w.[j])
        |> ignore
        Matrix(a.Rows, a.Cols, out)

    /// Σ_i (vᵢᵀ R)ᵀ (vᵢᵀ R) wᵢ over kept eigenpairs, as one Gram product of R's projections scaled by √wᵢ.
    let private weightedGram (la: ILinearAlgebra) (r: Matrix) (vectors: Matrix) (weights: float[]) (keep: int[]) =
        let kept = Matrix(vectors.Rows, keep.Length, Array.init (vectors.Rows * keep.Length) (fun t -> vectors.[t / keep.Length, keep.[t % keep.Length]] * sqrt weights.[keep.[t % keep.Length]]))
        la.Gram(la.Multiply(r, true, kept, false), false)

    let private threshold (o: HessianOptions) (values: float[]) =
        if o.Relative then o.Threshold * Array.max values else o.Threshold

    /// Rᵀ M⁺ R with M⁺ the truncated pseudo-inverse of a symmetric M (H or a Schur complement) given by its
    /// eigendecomposition, and the spectrum diagnostics.
    let private truncatedGramOf (la: ILinearAlgebra) (o: HessianOptions) (values: float[], vectors: Matrix) (r: Matrix) =
        let tau = threshold o values
        let keep = [| for i in 0 .. values.Length - 1 do if values.[i] > tau then yield i |]
        let h = weightedGram la r vectors (Array.map (fun v -> 1.0 / v) values) keep
        { Gram = h; Kept = keep.Length; Dropped = values.Length - keep.Length
          SmallestKept = (if keep.Length > 0 then values.[keep.[0]] else nan); Threshold = tau; Factorisation = TruncatedEigen }

    /// Lanczos steps at most for the smallest kept eigenvalue: a diagnostic only (it does not enter the Hessian).
    /// The certified path has a gap above τ and the extreme Ritz value converges in a few dozen steps; plain
    /// inverse iteration needed up to 200, each reading the m×m factor three times (half the Hessian's time at
    /// n = 1 000).
    let private lanczosSteps = 200

    /// The smallest eigenvalue of S on 1⊥ with L Lᵀ = S + c·11ᵀ: the lift only moves the null direction 1, so
    /// on 1⊥ the operator (L Lᵀ)⁻¹ is S⁻¹, whose largest eigenvalue Lanczos finds (full reorthogonalisation,
    /// every vector kept orthogonal to 1). The Ritz value approaches 1/λ from below, so the estimate of λ comes
    /// from above, like every Rayleigh quotient; it stops when the Ritz pair's residual is below 1e-10 of it.
    let private smallestByLanczos (la: ILinearAlgebra) (balanced: bool) (l: Matrix) =
        let m = l.Rows
        // A positive definite S (a relaxed plan's) has no null direction to keep the vectors away from.
        let removeMean (v: float[]) =
            if balanced then
                let mean = Array.average v
                for i in 0 .. v.Length - 1 do v.[i] <- v.[i] - mean
        let basis = ResizeArray<float[]>()
        let alphas = ResizeArray<float>()
        let betas = ResizeArray<float>()
        // A start with no special symmetry, so it is not orthogonal to the wanted eigenvector.
        let q0 = Array.init m (fun i -> 1.0 + float (i % 7) / 7.0)
        removeMean q0
        let norm0 = sqrt (Dense.dot q0 q0)
        basis.Add(Array.map (fun a -> a / norm0) q0)
        let mutable estimate = nan
        let mutable finished = false
        while not finished do
            let k = basis.Count
            let q = basis.[k - 1]
            let w = la.SolveLower(l, la.SolveLower(l, Matrix.Column q, false), true).Data
            removeMean w
            let alpha = Dense.dot q w
            alphas.Add alpha
            // Two passes of Gram–Schmidt against the whole basis keep it orthogonal in floating point.
            for _ in 1 .. 2 do
                for b in basis do
                    let c = Dense.dot b w
                    for i in 0 .. m - 1 do w.[i] <- w.[i] - c * b.[i]
            let beta = sqrt (Dense.dot w w)
            let t = Matrix.Zeros(k, k)
            for i in 0 .. k - 1 do
                t.[i, i] <- alphas.[i]
                if i > 0 then
                    t.[i, i - 1] <- betas.[i - 1]
                    t.[i - 1, i] <- betas.[i - 1]
            let values, vectors = la.SymmetricEigen t
            let theta = values.[k - 1]
            estimate <- 1.0 / theta
            let residual = abs (beta * vectors.[k - 1, k - 1])
            if residual <= 1e-10 * theta || beta <= 1e-300 || k >= min lanczosSteps (if balanced then m - 1 else m) then finished <- true
            else
                betas.Add beta
                basis.Add(Array.map (fun a -> a / beta) w)
        estimate

    /// Rᵀ S⁺ R for a Schur complement S with null vector 1 and 1ᵀR = 0 (`balanced`), or a positive definite S (a
    /// relaxed plan's, math.md §9): the certified Cholesky when it applies (see `CertifiedCholesky`), the truncated
    /// eigen-decomposition otherwise. A relative threshold τ·λ_max needs λ_max, which only the eigen-decomposition gives
    /// exactly: it takes the eigen path.
    let private schurGram (la: ILinearAlgebra) (o: HessianOptions) (balanced: bool) (sMat: Matrix) (r: Matrix) =
        let m = sMat.Rows
        let trace = Array.init m (fun j -> sMat.[j, j]) |> Array.sum
        let tau = o.Threshold
        // c·m = trace/m puts the lifted null direction at the mean eigenvalue; a positive definite S has none to lift.
        let lift = if balanced then trace / float (m * m) else 0.0
        // S + c·11ᵀ, formed once; the certification factors it with τ taken off the diagonal, then the diagonal is put back.
        let lifted = Matrix(m, m, Array.map (fun v -> v + lift) sMat.Data)
        let certified () =
            let diagonal = Array.init m (fun j -> lifted.Data.[j * m + j])
            for j in 0 .. m - 1 do lifted.Data.[j * m + j] <- diagonal.[j] - tau
            let factor = la.CholeskyFactor lifted
            for j in 0 .. m - 1 do lifted.Data.[j * m + j] <- diagonal.[j]
            factor
        match (if (m > 1 || not balanced) && not o.Relative then certified () else None) |> Option.bind (fun _ -> la.CholeskyFactor lifted) with
        | Some l ->
            let h = la.Gram(la.SolveLower(l, r, false), true)
            let dropped = if balanced then 1 else 0
            { Gram = h; Kept = m - dropped; Dropped = dropped; SmallestKept = smallestByLanczos la balanced l; Threshold = tau; Factorisation = CertifiedCholesky }
        | None -> truncatedGramOf la o (la.SymmetricEigen sMat) r

    /// diag(kept) − coupled, in place.
    let private schurComplement (coupled: Matrix) (kept: float[]) =
        for i in 0 .. coupled.Data.Length - 1 do coupled.Data.[i] <- -coupled.Data.[i]
        for j in 0 .. kept.Length - 1 do coupled.[j, j] <- coupled.[j, j] + kept.[j]
        coupled

    /// The eigendecomposition of a dense plan's H-matrix: Algorithm 1's one expensive step, (n + m)³. Computed once where
    /// several products need H⁺ (the divergence's self-term takes its own and its mixed Hessian from one).
    let internal eigenOfH (la: ILinearAlgebra) (pm: DensePlan) = la.SymmetricEigen(HMatrix.denseWith pm.Plan pm.HRow pm.HCol)

    /// The dense (n·d)×(n·d) Hessian; the eigen path uses `hEigen` (`eigenOfH` of this plan) when given.
    let internal computeDense (la: ILinearAlgebra) (pm: DensePlan) (o: HessianOptions) (hEigen: (float[] * Matrix) option) =
        Validation.positive "threshold" o.Threshold
        let sw = Stopwatch.StartNew()
        let n, m, d = pm.Plan.Rows, pm.Plan.Cols, pm.X.Cols
        o.Cancellation.ThrowIfCancellationRequested()
        let rootEps = sqrt pm.Eps
        let inverse =
            match o.Method with
            | Eigen | NoRegularisation ->
                let rfull = rightHandSide pm (1.0 / rootEps)
                let values, vectors = match hEigen with Some eigen -> eigen | None -> eigenOfH la pm
                if o.Method = Eigen then truncatedGramOf la o (values, vectors) rfull
                else
                    // Rᵀ V Λ⁻¹ Vᵀ R without truncation: tiny or negative eigenvalues are inverted as they are.
                    let proj = la.Multiply(vectors, true, rfull, false)
                    let scaled = Matrix(proj.Rows, proj.Cols, Array.mapi (fun t v -> v / values.[t / proj.Cols]) proj.Data)
                    { Gram = la.Multiply(proj, true, scaled, false); Kept = values.Length; Dropped = 0
                      SmallestKept = values.[0]; Threshold = 0.0; Factorisation = FullEigen }
            | Schur when n >= m ->
                PlanMass.requireBalanced pm.Relaxation.TauA "row" pm.R
                // Eliminate the f-block: S = diag(s) − Pᵀ diag(1/r) P (m×m), R_S = R_g − Pᵀ diag(1/r) R_f,
                // Hess₁ = (blockdiag(G_k G_kᵀ / r_k) + R_Sᵀ S⁺ R_S)/ε; a relaxed plan's H-diagonals in place of r and s.
                let q = scaleRows (Array.map (fun v -> (if PlanMass.usable v then 1.0 / sqrt v else 0.0)) pm.HRow) pm.Plan
                let inverse = schurGram la o pm.Relaxation.IsBalanced (schurComplement (la.Gram(q, true)) pm.HCol) (gBlock pm true (1.0 / rootEps))
                let h = inverse.Gram
                for k in 0 .. n - 1 do
                    for a in 0 .. d - 1 do
                        for b in 0 .. d - 1 do
                            h.[k * d + a, k * d + b] <- h.[k * d + a, k * d + b] + (if PlanMass.usable pm.HRow.[k] then pm.Gradient.[k, a] * pm.Gradient.[k, b] / (pm.HRow.[k] * pm.Eps) else 0.0)
                inverse
            | Schur ->
                PlanMass.requireBalanced pm.Relaxation.TauB "column" pm.S
                // n < m: eliminate the larger g-block: S = diag(r) − P diag(1/s) Pᵀ (n×n),
                // R_S = R_f − P diag(1/s) R_g, Hess₁ = (R_gᵀ diag(1/s) R_g + R_Sᵀ S⁺ R_S)/ε.
                let q = scaleColumns (Array.map (fun v -> (if PlanMass.usable v then 1.0 / sqrt v else 0.0)) pm.HCol) pm.Plan
                let rg = gBlock pm false (1.0 / rootEps)
                let rgScaled = scaleRows (Array.map (fun v -> (if PlanMass.usable v then 1.0 / sqrt v else 0.0)) pm.HCol) rg
                let rs = la.Multiply(q, false, rgScaled, false)
                for i in 0 .. rs.Data.Length - 1 do rs.Data.[i] <- -rs.Data.[i]
                for k in 0 .. n - 1 do
                    for a in 0 .. d - 1 do rs.[k, k * d + a] <- rs.[k, k * d + a] + pm.Gradient.[k, a] / rootEps
                let inverse = schurGram la o pm.Relaxation.IsBalanced (schurComplement (la.Gram(q, false)) pm.HRow) rs
                let direct = la.Gram(rgScaled, true)
                for i in 0 .. inverse.Gram.Data.Length - 1 do inverse.Gram.Data.[i] <- inverse.Gram.Data.[i] + direct.Data.[i]
                inverse
        o.Cancellation.ThrowIfCancellationRequested()
        let hess = inverse.Gram
        BlockDiagonal.addTo pm hess
        { Hessian = hess; Method = o.Method; Kept = inverse.Kept; Dropped = inverse.Dropped; SmallestKept = inverse.SmallestKept
          Factorisation = inverse.Factorisation; Threshold = inverse.Threshold; Elapsed = sw.Elapsed }

    /// The bytes the dense Hessian of n × m points in d dimensions by `methodUsed` allocates at its peak, and the element
    /// count of its largest array: the plan, R, the factorised matrix and its vectors, the eigensolver's workspace,
    /// products of R with them, and the Hessian itself (twice: the result and a caller's copy).
    let memoryNeeded (n: int) (m: int) (d: int) (methodUsed: HessianMethod) =
        let nf, mf, nd = float n, float m, float n * float d
        let factorised = match methodUsed with Schur -> min nf mf | _ -> nf + mf
        8.0 * (2.0 * nf * mf + (2.0 + DenseRequest.eigenWorkspace) * factorised * factorised + 2.0 * (nf + mf) * nd + 2.0 * nd * nd),
        List.max [ nf * mf; factorised * factorised; factorised * nd; nd * nd ]

    /// Refuses, before anything is allocated (or solved), a dense Hessian that cannot fit in memory.
    let requireMemory (n: int) (m: int) (d: int) (methodUsed: HessianMethod) =
        let bytes, largest = memoryNeeded n m d methodUsed
        let nd = float n * float d
        DenseRequest.require (sprintf "The dense Hessian (n = %d, d = %d: %.0f × %.0f)" n d nd nd) bytes largest
            "Hessian-vector products (otnative hvp, SinkhornResult.HessianVectorProduct) need O((n + m)·d) memory"

    /// The dense Hessian of a solved point-cloud problem, on its backend's linear algebra.
    let compute (plan: SolvedPlan) (o: HessianOptions) =
        o.Cancellation.ThrowIfCancellationRequested()
        requireMemory plan.Problem.N plan.Problem.M plan.Problem.X.Cols o.Method
        computeDense plan.LinearAlgebra (DensePlan.ofSolved plan) o None

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
