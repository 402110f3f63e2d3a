namespace OtNative.Core

open System

/// Options of the conjugate-gradient solves on the Schur complement S = diag(s) − Pᵀ diag(1/r) P.
type CgOptions =
    { /// Stop when ‖residual‖ ≤ tolerance · ‖right-hand side‖.
      Tolerance: float
      MaxIterations: int
      /// τ² of the ridge ετ² added to S (0: none, the right-hand side is projected onto 1_m^⊥
      /// instead; the reference implementation uses 1e-5).
      RidgeTau2: float
      /// Precondition with the truncated Neumann series (I + B + B² + B³) diag(1/s), B = diag(1/s) Pᵀ diag(1/r) P.
      Neumann: bool }

    /// Relative residual 1e-10, 500 iterations, no ridge, Neumann preconditioner.
    static member Default = { Tolerance = 1e-10; MaxIterations = 500; RidgeTau2 = 0.0; Neumann = true }

/// What a CG solve did.
type CgReport =
    { Iterations: int
      /// Final relative residual.
      Residual: float
      Converged: bool }

/// The Hessian of entropic OT as an operator (SPEC §3): Hessian-vector products, the parameter
/// Hessian of a linear model and the sharp-distance gradient, all without forming the Hessian or
/// storing P. Caches the plan's marginals and moments (O((n+m)d²)) once; every product then costs
/// a few streamed passes per CG iteration.
[<Sealed>]
type HessianOperator(kernel: ITransportKernel, solution: SinkhornResult, cg: CgOptions) =
    do
        Validation.positive "tolerance" cg.Tolerance
        if cg.MaxIterations < 1 then raise (ArgumentException("maxIterations must be at least 1.", "maxIterations"))
        if cg.RidgeTau2 < 0.0 || not (Double.IsFinite cg.RidgeTau2) then raise (ArgumentException("ridgeTau2 must be finite and ≥ 0.", "ridgeTau2"))
    let p = kernel.Problem
    let n, m = p.N, p.M
    let eps = solution.Epsilon
    let rows (v: Matrix) weighted = kernel.Apply(Rows, eps, solution.F, solution.G, v, weighted)
    let cols (v: Matrix) weighted = kernel.Apply(Cols, eps, solution.F, solution.G, v, weighted)
    let ones count = Matrix.Column(Array.create count 1.0)
    let r = (rows (ones m) false).Data
    let s = (cols (ones n) false).Data
    // The coordinate-dependent moments, on first use (a cost-matrix problem has none):
    // one pass for P y and M2_k = Σ_j P_kj y_j y_jᵀ, and the gradient G.
    let coordinates =
        lazy
            (let x, y = p.X, p.Y
             let d = x.Cols
             let w = d + d * d
             let moments =
                 rows (Matrix(m, w, Array.init (m * w) (fun t ->
                     let j, c = t / w, t % w
                     if c < d then y.[j, c] else let c = c - d in y.[j, c / d] * y.[j, c % d]))) false
             let gradient = Matrix(n, d, Array.init (n * d) (fun t -> let k, q = t / d, t % d in 2.0 * (r.[k] * x.[k, q] - moments.[k, q])))
             x, y, d, moments, gradient)
    let ridge = eps * cg.RidgeTau2
    let dot (u: float[]) (v: float[]) = Array.fold2 (fun acc a b -> acc + a * b) 0.0 u v
    let project (v: float[]) =
        if ridge = 0.0 then
            let mean = Array.average v
            for j in 0 .. v.Length - 1 do v.[j] <- v.[j] - mean
    /// Pᵀ diag(1/r) P v, two streamed passes.
    let coupled (v: float[]) =
        let pv = (rows (Matrix.Column v) false).Data
        (cols (Matrix.Column(Array.mapi (fun k t -> t / r.[k]) pv)) false).Data
    /// S v + ridge v.
    let applyS (v: float[]) =
        let back = coupled v
        Array.init m (fun j -> s.[j] * v.[j] - back.[j] + ridge * v.[j])
    let applyB (v: float[]) = Array.mapi (fun j t -> t / s.[j]) (coupled v)
    let precondition (v: float[]) =
        if cg.Neumann then
            let mutable t = Array.mapi (fun j a -> a / s.[j]) v
            let acc = Array.copy t
            for _ in 1 .. 3 do
                t <- applyB t
                for j in 0 .. m - 1 do acc.[j] <- acc.[j] + t.[j]
            project acc
            acc
        else Array.copy v

    /// Preconditioned CG on (S + ridge I) z = b.
    let solveS (b: float[]) =
        let b = Array.copy b
        project b
        let bNorm = sqrt (dot b b)
        let z = Array.zeroCreate m
        if bNorm = 0.0 then z, { Iterations = 0; Residual = 0.0; Converged = true }
        else
            let res = Array.copy b
            let mutable pre = precondition res
            let dir = Array.copy pre
            let mutable rz = dot res pre
            let mutable iter = 0
            let mutable rel = 1.0
            while rel > cg.Tolerance && iter < cg.MaxIterations do
                let sd = applyS dir
                let alpha = rz / dot dir sd
                if not (Double.IsFinite alpha) then
                    raise (NumericalFailureException(sprintf "CG on the Schur complement broke down at iteration %d (residual %g)." iter rel, iter, rel))
                for j in 0 .. m - 1 do
                    z.[j] <- z.[j] + alpha * dir.[j]
                    res.[j] <- res.[j] - alpha * sd.[j]
                project res
                rel <- sqrt (dot res res) / bNorm
                iter <- iter + 1
                pre <- precondition res
                let rzNext = dot res pre
                let beta = rzNext / rz
                rz <- rzNext
                for j in 0 .. m - 1 do dir.[j] <- pre.[j] + beta * dir.[j]
            z, { Iterations = iter; Residual = rel; Converged = rel <= cg.Tolerance }

    /// Solves H [w_f; w_g] = [u_f; u_g] by eliminating the f-block.
    let solveH (uf: float[]) (ug: float[]) =
        let back = (cols (Matrix.Column(Array.mapi (fun k u -> u / r.[k]) uf)) false).Data
        let wg, report = solveS (Array.mapi (fun j u -> u - back.[j]) ug)
        wg, report

    /// Σ_j P_kj w_j ∇c_kj = 2 (x_k (P w)_k − (P (w∘y))_k), with P w returned too.
    let contract (w: float[]) =
        let x, y, d, _, _ = coordinates.Force()
        let pw = rows (Matrix(m, d + 1, Array.init (m * (d + 1)) (fun t -> let j, c = t / (d + 1), t % (d + 1) in if c = 0 then w.[j] else w.[j] * y.[j, c - 1]))) false
        let out = Matrix(n, d, Array.init (n * d) (fun t -> let k, q = t / d, t % d in 2.0 * (x.[k, q] * pw.[k, 0] - pw.[k, q + 1])))
        out, Array.init n (fun k -> pw.[k, 0])

    /// The plan's row mass r = P1.
    member _.RowMass = Array.copy r
    /// The plan's column mass s = Pᵀ1.
    member _.ColumnMass = Array.copy s
    /// The EOT gradient G (n×d), Theorem 1.
    member _.Gradient = let _, _, _, _, gradient = coordinates.Force() in gradient.Copy()
    /// The CG settings.
    member _.Options = cg

    /// Hessian-vector product ∇²L_ε · A for a direction A (n×d), with the CG report.
    member _.Apply(direction: Matrix) =
        let x, y, d, moments, gradient = coordinates.Force()
        let py k q = moments.[k, q]
        let m2 k a b = moments.[k, d + a * d + b]
        Validation.shape "direction" n d direction
        let rf = Array.init n (fun k -> let mutable t = 0.0 in (for q in 0 .. d - 1 do t <- t + gradient.[k, q] * direction.[k, q]); t)
        // r_g[j] = 2 ((Pᵀ (x·A))_j − y_j · (Pᵀ A)_j) in one pass.
        let pa = cols (Matrix(n, d + 1, Array.init (n * (d + 1)) (fun t ->
                    let k, c = t / (d + 1), t % (d + 1)
                    if c = 0 then (let mutable v = 0.0 in (for q in 0 .. d - 1 do v <- v + x.[k, q] * direction.[k, q]); v)
                    else direction.[k, c - 1]))) false
        let rg = Array.init m (fun j -> let mutable v = pa.[j, 0] in (for q in 0 .. d - 1 do v <- v - y.[j, q] * pa.[j, q + 1]); 2.0 * v)
        let zg, report = solveH rf rg
        let pz, pzVec = contract zg
        let out = Matrix.Zeros(n, d)
        for k in 0 .. n - 1 do
            let zf = (rf.[k] - pzVec.[k]) / r.[k]
            let mutable xa = 0.0
            let mutable pya = 0.0
            for q in 0 .. d - 1 do
                xa <- xa + x.[k, q] * direction.[k, q]
                pya <- pya + py k q * direction.[k, q]
            for a in 0 .. d - 1 do
                let mutable m2a = 0.0
                for b in 0 .. d - 1 do m2a <- m2a + m2 k a b * direction.[k, b]
                // Σ_j P_kj ∇c (∇c · A_k) = 4 (r_k x_k (x_k·A_k) − x_k ((Py)_k·A_k) − (Py)_k (x_k·A_k) + M2_k A_k)
                let outer = 4.0 * (r.[k] * x.[k, a] * xa - x.[k, a] * pya - py k a * xa + m2a)
                out.[k, a] <- (zf * gradient.[k, a] + pz.[k, a] - outer) / eps + 2.0 * r.[k] * direction.[k, a]
        out, report

    /// ∇²_θ L for the linear model x = Xθ (design X: n×p), from p·d Hessian-vector products;
    /// (p·d)×(p·d), index p'·d + q. Returns the worst CG report.
    member this.ParameterHessian(design: Matrix) =
        if design.Rows <> n then raise (ArgumentException(sprintf "design has %d rows but there are %d points." design.Rows n, "design"))
        let d = this.Gradient.Cols
        let pCount = design.Cols
        let size = pCount * d
        let h = Matrix.Zeros(size, size)
        let mutable worst = { Iterations = 0; Residual = 0.0; Converged = true }
        for pp in 0 .. pCount - 1 do
            for q in 0 .. d - 1 do
                let dir = Matrix(n, d, Array.init (n * d) (fun t -> if t % d = q then design.[t / d, pp] else 0.0))
                let hd, report = this.Apply dir
                if report.Residual > worst.Residual || not report.Converged then worst <- report
                let col = Dense.transposeTimes design hd
                for a in 0 .. pCount - 1 do
                    for b in 0 .. d - 1 do h.[a * d + b, pp * d + q] <- col.[a, b]
        for i in 0 .. size - 1 do
            for j in i + 1 .. size - 1 do
                let v = 0.5 * (h.[i, j] + h.[j, i])
                h.[i, j] <- v
                h.[j, i] <- v
        h, worst

    /// Gradient of the sharp Sinkhorn distance S_ε = ⟨P, C⟩ with respect to x (Proposition 2),
    /// one H-solve: u = [(P∘C)1; (P∘C)ᵀ1], H w = u,
    /// ∂S/∂x_k = (1/ε)(w_k G_k + Σ_j w_{n+j} P_kj ∇c_kj − Σ_j P_kj C_kj ∇c_kj) + G_k.
    member _.SharpGradient() =
        let x, y, d, _, gradient = coordinates.Force()
        let pc = rows (Matrix(m, d + 1, Array.init (m * (d + 1)) (fun t -> let j, c = t / (d + 1), t % (d + 1) in if c = 0 then 1.0 else y.[j, c - 1]))) true
        let uf = Array.init n (fun k -> pc.[k, 0])
        let ug = (cols (ones n) true).Data
        let wg, report = solveH uf ug
        let pw, pwVec = contract wg
        let out = Matrix.Zeros(n, d)
        for k in 0 .. n - 1 do
            let wf = (uf.[k] - pwVec.[k]) / r.[k]
            for q in 0 .. d - 1 do
                let pcGrad = 2.0 * (x.[k, q] * uf.[k] - pc.[k, q + 1])
                out.[k, q] <- (wf * gradient.[k, q] + pw.[k, q] - pcGrad) / eps + gradient.[k, q]
        out, report

    /// Derivative of the sharp distance with respect to the cost matrix (SPEC §2, n×m, dense):
    /// ∂S/∂C = P + (1/ε)(w_f 1ᵀ + 1 w_gᵀ − C) ∘ P with H [w_f; w_g] = [(P∘C)1; (P∘C)ᵀ1].
    /// Works for point clouds and cost matrices alike.
    member _.SharpCostGradient() =
        let uf = (rows (ones m) true).Data
        let ug = (cols (ones n) true).Data
        let wg, report = solveH uf ug
        let pw = (rows (Matrix.Column wg) false).Data
        let plan = kernel.Plan(eps, solution.F, solution.G)
        let cost = OtProblem.costMatrix p
        let out = Matrix.Zeros(n, m)
        for k in 0 .. n - 1 do
            let wf = (uf.[k] - pw.[k]) / r.[k]
            for j in 0 .. m - 1 do
                out.[k, j] <- plan.[k, j] * (1.0 + (wf + wg.[j] - cost.[k, j]) / eps)
        out, report
