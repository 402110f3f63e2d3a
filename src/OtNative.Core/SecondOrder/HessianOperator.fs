namespace OtNative.Core

open System

/// Preconditioner of the CG solves on the Schur complement.
type CgPreconditioner =
    /// Plain CG.
    | Identity
    /// diag(1/s): free, and on the benchmark's problems the fewest streamed passes per solve.
    | Jacobi
    /// The truncated Neumann series (I + B + … + B^terms) diag(1/s), B = diag(1/s) Pᵀ diag(1/r) P: fewer
    /// iterations, but each costs 2·terms extra streamed passes.
    | Neumann of terms: int

/// Options of the conjugate-gradient solves on the Schur complement S = diag(s) − Pᵀ diag(1/r) P.
type CgOptions =
    { /// Stop when ‖residual‖ ≤ tolerance · ‖right-hand side‖.
      Tolerance: float
      MaxIterations: int
      /// τ² of the ridge ετ² added to S (0: none, the right-hand side is projected onto 1_m^⊥
      /// instead; the reference implementation uses 1e-5).
      RidgeTau2: float
      Preconditioner: CgPreconditioner
      /// Checked before every CG iteration.
      Cancellation: Threading.CancellationToken }

    /// Relative residual 1e-10, 500 iterations, no ridge, Jacobi preconditioner.
    static member Default =
        { Tolerance = 1e-10; MaxIterations = 500; RidgeTau2 = 0.0; Preconditioner = Jacobi; Cancellation = Threading.CancellationToken.None }

/// The coordinate-dependent terms of a point-cloud plan: the clouds, P y and the gradient G.
type internal TargetMoments =
    { X: Matrix
      Y: Matrix
      D: int
      TransportedTargets: Matrix
      Gradient: Matrix }

/// The Hessian of entropic OT as an operator (math.md §3): Hessian-vector products, the parameter
/// Hessian of a linear model and the sharp-distance gradient, all without forming the Hessian or
/// storing P. Caches the plan's marginals and moments (O((n+m)d²)) once; every product then costs
/// a few streamed passes per CG iteration.
[<Sealed>]
type HessianOperator(plan: SolvedPlan, cg: CgOptions) =
    do
        Validation.positive "Tolerance" cg.Tolerance
        if cg.MaxIterations < 1 then raise (ArgumentException("MaxIterations must be at least 1.", "MaxIterations"))
        if cg.RidgeTau2 < 0.0 || not (Double.IsFinite cg.RidgeTau2) then raise (ArgumentException("ridgeTau2 must be finite and ≥ 0.", "ridgeTau2"))
        match cg.Preconditioner with
        | Neumann terms when terms < 1 -> raise (ArgumentException("the Neumann series needs at least one term.", "preconditioner"))
        | _ -> ()
    let p = plan.Problem
    let n, m = p.N, p.M
    let eps = plan.Epsilon
    let rows (v: Matrix) weighted = plan.ApplyRows(v, weighted)
    let cols (v: Matrix) weighted = plan.ApplyCols(v, weighted)
    let ones count = Matrix.Column(Array.create count 1.0)
    let r = plan.RowMass
    let s = plan.ColumnMass
    do
        PlanMass.requireBalanced plan.Problem.Relaxation.TauA "row" r
        PlanMass.requireBalanced plan.Problem.Relaxation.TauB "column" s
    // H's diagonals: r and s, or r(1 + ε/τ_a) and s(1 + ε/τ_b) for a relaxed plan (math.md §9), whose H and Schur
    // complement are positive definite — no null space to project the right-hand sides off.
    let relaxation = p.Relaxation
    let hr, hs = HMatrix.diagonalsOf plan
    // The coordinate-dependent terms, cached by the plan (a cost-matrix problem has none).
    let coordinates =
        lazy { X = p.X; Y = p.Y; D = p.X.Cols; TransportedTargets = plan.TransportedTargets; Gradient = Gradients.eot plan }
    /// The operator's own per-pair kernels, where it has them (CUDA): the contractions below then come from them
    /// instead of `Apply` passes over coordinate moments.
    let pairs = PairContractions.ofOperator plan.Operator
    /// A cost other than the squared Euclidean one: its curvature Σ_j P_kj ∇²c_kj A_k in place of 2 r_k A_k, and its
    /// cost-weighted gradient in place of the moments' (math.md §10).
    let costTerms = PairContractions.costTermsOf p
    let ridge = eps * cg.RidgeTau2
    /// Relative size below which a right-hand side is rounding noise of the terms it was formed from.
    let roundingLevel = 1e-12
    let project (v: float[]) =
        if ridge = 0.0 && relaxation.IsBalanced then
            let mean = Array.average v
            for j in 0 .. v.Length - 1 do v.[j] <- v.[j] - mean
    // Several vectors travel through one streamed pass as the columns of one matrix: the pass's cost is
    // its exponentials, shared by all columns.
    let pack (vs: float[][]) =
        let k, len = vs.Length, vs.[0].Length
        Matrix(len, k, Array.init (len * k) (fun t -> vs.[t % k].[t / k]))
    let unpack (mat: Matrix) = Array.init mat.Cols (fun c -> Array.init mat.Rows (fun i -> mat.Data.[i * mat.Cols + c]))
    let inverseRowMass = Array.map (fun v -> PlanMass.over v 1.0) hr
    /// Pᵀ diag(1/r) u for each u (n-vectors), one pass.
    let coupledBack (us: float[][]) =
        let k = us.Length
        unpack (cols (Matrix(n, k, Array.init (n * k) (fun t -> us.[t % k].[t / k] * inverseRowMass.[t / k]))) false)
    /// Pᵀ diag(1/r) P v for each v: one streamed pass on an operator with a fused kernel (CPU), else two.
    let coupled (vs: float[][]) = unpack (plan.ApplyCoupled(inverseRowMass, pack vs, cg.Cancellation))
    /// S v + ridge v.
    let applyS (vs: float[][]) =
        Array.map2 (fun (v: float[]) (back: float[]) -> Array.init m (fun j -> hs.[j] * v.[j] - back.[j] + ridge * v.[j])) vs (coupled vs)
    let bySum (v: float[]) = Array.mapi (fun j a -> PlanMass.over hs.[j] a) v
    let precondition (vs: float[][]) =
        match cg.Preconditioner with
        | Identity -> Array.map Array.copy vs
        | Jacobi -> vs |> Array.map (fun v -> let t = bySum v in project t; t)
        | Neumann terms ->
            let mutable t = Array.map bySum vs
            let acc = Array.map Array.copy t
            for _ in 1 .. terms do
                t <- Array.map bySum (coupled t)
                for c in 0 .. vs.Length - 1 do
                    for j in 0 .. m - 1 do acc.[c].[j] <- acc.[c].[j] + t.[c].[j]
            Array.iter project acc
            acc

    /// Preconditioned block CG on (S + ridge I) z = b for every b at once (see `BlockCg`). A right-hand side
    /// that is zero up to rounding against `scales` (the sizes of the terms it was formed from) lies in S's
    /// numerical null space — a plan that is a permutation up to 1e-16 — and gets z = 0, as truncating S's
    /// spectrum would give it. Reports the worst column.
    let solveS (bs: float[][]) (scales: float[]) =
        let result = BlockCg.solve applyS precondition project bs (scales |> Array.map (fun v -> roundingLevel * v)) cg.Tolerance cg.MaxIterations cg.Cancellation
        result.Solutions, result.Report cg.Tolerance

    /// Solves H [w_f; w_g] = [u_f; u_g] for each pair by eliminating the f-block; returns the w_g.
    let solveH (ufs: float[][]) (ugs: float[][]) =
        let back = coupledBack ufs
        let scales = Array.map2 (fun (ug: float[]) (bk: float[]) -> sqrt (Dense.dot ug ug) + sqrt (Dense.dot bk bk)) ugs back
        solveS (Array.map2 (fun (ug: float[]) (bk: float[]) -> Array.mapi (fun j u -> u - bk.[j]) ug) ugs back) scales

    /// For each w: Σ_j P_kj w_j ∇c_kj and P w, in one pass — the operator's pair kernel where it has one, else
    /// 2 (x_k (P w)_k − (P (w∘y))_k) from an `Apply` pass.
    let contract (ws: float[][]) =
        let { X = x; Y = y; D = d } = coordinates.Force()
        let w1 = d + 1
        let k = ws.Length
        // at c kk 0 = (P w_c)_k; at c kk (1 + q) = Σ_j P_kj w_cj (x_k − y_j)_q.
        let at =
            match pairs with
            | Some c ->
                let out = c.ContractRows(eps, plan.F, plan.G, pack ws)
                fun cc kk q -> out.[kk, cc * w1 + q]
            | None ->
                let pw = rows (Matrix(m, k * w1, Array.init (m * k * w1) (fun t ->
                            let j, col = t / (k * w1), t % (k * w1)
                            let c, q = col / w1, col % w1
                            if q = 0 then ws.[c].[j] else ws.[c].[j] * y.[j, q - 1]))) false
                let moment cc kk q = pw.Data.[kk * k * w1 + cc * w1 + q]
                fun cc kk q -> if q = 0 then moment cc kk 0 else x.[kk, q - 1] * moment cc kk 0 - moment cc kk q
        ws |> Array.mapi (fun c _ ->
            Matrix(n, d, Array.init (n * d) (fun t -> 2.0 * at c (t / d) (1 + t % d))),
            Array.init n (fun kk -> at c kk 0))

    /// For each direction A: r_g[j] = 2 Σ_k P_kj (x_k − y_j) · A_k, and outer c k a = Σ_j P_kj ∇c_a (∇c · A_k) — from the
    /// operator's pair kernels where it has them, else one `Apply` pass for r_g (2 ((Pᵀ (x·A))_j − y_j · (Pᵀ A)_j)) and
    /// the plan's moments for the outer term (4 (r_k x_k (x_k·A_k) − x_k ((Py)_k·A_k) − (Py)_k (x_k·A_k) + M2_k A_k)).
    let rightHandSideAndOuter (directions: Matrix[]) =
        let { X = x; Y = y; D = d; TransportedTargets = pyAll } = coordinates.Force()
        let k = directions.Length
        match pairs with
        | Some pc ->
            let packed = Dense.sideBySide directions
            let dots = pc.DotCols(eps, plan.F, plan.G, packed)
            let outers = pc.OuterRows(eps, plan.F, plan.G, packed)
            Array.init k (fun c -> Array.init m (fun j -> 2.0 * dots.[j, c])), (fun c kk a -> 4.0 * outers.[kk, c * d + a])
        | None ->
            let w1 = d + 1
            let pa = cols (Matrix(n, k * w1, Array.init (n * k * w1) (fun t ->
                        let kk, col = t / (k * w1), t % (k * w1)
                        let a, c = directions.[col / w1], col % w1
                        if c = 0 then (let mutable v = 0.0 in (for q in 0 .. d - 1 do v <- v + x.[kk, q] * a.[kk, q]); v)
                        else a.[kk, c - 1]))) false
            let rgs = Array.init k (fun c ->
                let at j q = pa.Data.[j * k * w1 + c * w1 + q]
                Array.init m (fun j -> let mutable v = at j 0 in (for q in 0 .. d - 1 do v <- v - y.[j, q] * at j (q + 1)); 2.0 * v))
            let m2All = plan.SecondMoments
            let outer c kk a =
                let direction = directions.[c]
                let mutable xa, pya, m2a = 0.0, 0.0, 0.0
                for q in 0 .. d - 1 do
                    xa <- xa + x.[kk, q] * direction.[kk, q]
                    pya <- pya + pyAll.[kk, q] * direction.[kk, q]
                    m2a <- m2a + m2All.[kk, a * d + q] * direction.[kk, q]
                4.0 * (r.[kk] * x.[kk, a] * xa - x.[kk, a] * pya - pyAll.[kk, a] * xa + m2a)
            rgs, outer

    /// Fails where a result left float64. Its terms multiply costs, cost gradients and the direction (w_f G, Σ_j P C ∇c,
    /// R A) before dividing by ε: they overflow while the result itself would be representable (the squared Euclidean
    /// cost at coordinates of 1e140, ‖x − y‖^2.5 at 1e100), and a NaN returned as a derivative is worse than a refusal.
    let requireFinite (what: string) (result: Matrix) =
        if result.Data |> Array.exists (fun v -> not (Double.IsFinite v)) then
            raise (OtNative.NumericalFailureException(
                sprintf "The %s is not finite: its products of costs, cost gradients and directions overflow float64 for costs this large (ε = %g). Scale the coordinates (or the direction) down." what eps,
                0, nan))

    /// The products ∇²L_ε · A with, for each, the solution z = [z_f; z_g] of H z = R A behind it, and the worst CG report.
    let productsAndSolutions (directions: Matrix[]) =
        let { D = d; Gradient = gradient } = coordinates.Force()
        if isNull directions || directions.Length = 0 then raise (ArgumentException("give at least one direction.", "directions"))
        directions |> Array.iteri (fun i a -> Validation.shape (sprintf "directions[%d]" i) n d a)
        let k = directions.Length
        let rfs = directions |> Array.map (fun a -> Array.init n (fun kk -> let mutable t = 0.0 in (for q in 0 .. d - 1 do t <- t + gradient.[kk, q] * a.[kk, q]); t))
        let rgs, outer = rightHandSideAndOuter directions
        let zgs, report = solveH rfs rgs
        let contracted = contract zgs
        let zfs = Array.init k (fun c -> let _, pzVec = contracted.[c] in Array.init n (fun kk -> PlanMass.over hr.[kk] (rfs.[c].[kk] - pzVec.[kk])))
        let curvature =
            match costTerms with
            | Some terms ->
                let curved = terms.CurvatureRows(eps, plan.F, plan.G, Dense.sideBySide directions)
                fun c kk a -> curved.[kk, c * d + a]
            | None -> fun c kk a -> 2.0 * r.[kk] * directions.[c].[kk, a]
        let products =
            Array.init k (fun c ->
                let pz, _ = contracted.[c]
                Matrix(n, d, Array.init (n * d) (fun t ->
                    let kk, a = t / d, t % d
                    (zfs.[c].[kk] * gradient.[kk, a] + pz.[kk, a] - outer c kk a) / eps + curvature c kk a)))
        products |> Array.iter (requireFinite "Hessian-vector product")
        products, zfs, zgs, report

    /// The plan's row mass r = P1.
    member _.RowMass = Array.copy r
    /// The plan's column mass s = Pᵀ1.
    member _.ColumnMass = Array.copy s
    /// The EOT gradient G (n×d), Theorem 1.
    member _.Gradient = coordinates.Force().Gradient.Copy()
    /// The CG settings.
    member _.Options = cg

    /// Hessian-vector products ∇²L_ε · A for several directions A (n×d) at the cost of about one: every
    /// streamed pass carries all of them. Returns the products and the worst CG report.
    member _.ApplyMany(directions: Matrix[]) =
        let products, _, _, report = productsAndSolutions directions
        products, report

    /// The products, the solutions z_f and z_g of H z = R A behind them, and the worst CG report: what the divergence's
    /// self-term products (`SelfTermProducts`) build on.
    member internal _.ProductsAndSolutions(directions: Matrix[]) = productsAndSolutions directions

    /// For each w: Σ_j P_kj w_j ∇c_kj and P w, in one pass.
    member internal _.Contract(ws: float[][]) = contract ws

    /// Hessian-vector product ∇²L_ε · A for a direction A (n×d), with the CG report.
    member this.Apply(direction: Matrix) =
        let products, report = this.ApplyMany [| direction |]
        products.[0], report

    /// ∇²_θ L for the linear model x = Xθ (design X: n×p), from p·d Hessian-vector products sharing
    /// their streamed passes; (p·d)×(p·d), index p'·d + q. Returns the CG report.
    member this.ParameterHessian(design: Matrix) =
        if design.Rows <> n then raise (ArgumentException(sprintf "design has %d rows but there are %d points." design.Rows n, "design"))
        let d = coordinates.Force().D
        let pCount = design.Cols
        let size = pCount * d
        let directions = Array.init size (fun col ->
            let pp, q = col / d, col % d
            Matrix(n, d, Array.init (n * d) (fun t -> if t % d = q then design.[t / d, pp] else 0.0)))
        let products, report = this.ApplyMany directions
        let h = Matrix.Zeros(size, size)
        products |> Array.iteri (fun col hd ->
            let lifted = Dense.transposeTimes design hd
            for a in 0 .. pCount - 1 do
                for b in 0 .. d - 1 do h.[a * d + b, col] <- lifted.[a, b])
        for i in 0 .. size - 1 do
            for j in i + 1 .. size - 1 do
                let v = 0.5 * (h.[i, j] + h.[j, i])
                h.[i, j] <- v
                h.[j, i] <- v
        h, report

    /// Gradient of the sharp Sinkhorn distance S_ε = ⟨P, C⟩ with respect to x (Proposition 2),
    /// one H-solve: u = [(P∘C)1; (P∘C)ᵀ1], H w = u,
    /// ∂S/∂x_k = (1/ε)(w_k G_k + Σ_j w_{n+j} P_kj ∇c_kj − Σ_j P_kj C_kj ∇c_kj) + G_k.
    member _.SharpGradient() =
        let { X = x; Y = y; D = d; Gradient = gradient } = coordinates.Force()
        let pc = rows (Matrix(m, d + 1, Array.init (m * (d + 1)) (fun t -> let j, c = t / (d + 1), t % (d + 1) in if c = 0 then 1.0 else y.[j, c - 1]))) true
        let uf = Array.init n (fun k -> pc.[k, 0])
        let ug = (cols (ones n) true).Data
        let wgs, report = solveH [| uf |] [| ug |]
        let pw, pwVec = (contract wgs).[0]
        // Σ_j P_kj C_kj ∇c_kj: from the moments, 2 (x_k (P∘C 1)_k − ((P∘C) y)_k), or pair by pair under another cost.
        let costWeighted =
            match costTerms with
            | Some terms -> terms.CostWeightedRows(eps, plan.F, plan.G)
            | None -> Matrix(n, d, Array.init (n * d) (fun t -> let k, q = t / d, t % d in 2.0 * (x.[k, q] * uf.[k] - pc.[k, q + 1])))
        let out = Matrix.Zeros(n, d)
        for k in 0 .. n - 1 do
            let wf = PlanMass.over hr.[k] (uf.[k] - pwVec.[k])
            for q in 0 .. d - 1 do
                let pcGrad = costWeighted.[k, q]
                out.[k, q] <- (wf * gradient.[k, q] + pw.[k, q] - pcGrad) / eps + gradient.[k, q]
        requireFinite "sharp gradient" out
        out, report

    /// Derivative of the sharp distance with respect to the cost matrix (math.md §2, n×m, dense):
    /// ∂S/∂C = P + (1/ε)(w_f 1ᵀ + 1 w_gᵀ − C) ∘ P with H [w_f; w_g] = [(P∘C)1; (P∘C)ᵀ1].
    /// Works for point clouds and cost matrices alike.
    member _.SharpCostGradient() =
        let uf = (rows (ones m) true).Data
        let ug = (cols (ones n) true).Data
        let wgs, report = solveH [| uf |] [| ug |]
        let wg = wgs.[0]
        let pw = (rows (Matrix.Column wg) false).Data
        let dense = plan.Materialise()
        let cost = OtProblem.costMatrix p
        let out = Matrix.Zeros(n, m)
        for k in 0 .. n - 1 do
            let wf = PlanMass.over hr.[k] (uf.[k] - pw.[k])
            for j in 0 .. m - 1 do
                out.[k, j] <- dense.[k, j] * (1.0 + (wf + wg.[j] - cost.[k, j]) / eps)
        out, report
