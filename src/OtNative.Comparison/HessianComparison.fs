namespace OtNative.Comparison

open OtNative
open System
open OtNative.Core
open System.Diagnostics

/// The four ways of computing the EOT Hessian compared in the paper (Section 5, Table 1).
type ComparisonMethod =
    /// Differentiating the gradient through the Sinkhorn iterations themselves: forward-mode tangents of f
    /// and g for all n·d input directions carried through every log-domain update, same stopping rule.
    | Unroll
    /// Implicit differentiation of the optimality conditions r(f,g,x) = a, s(f,g,x) = b, as OTT-JAX does
    /// by default: one conjugate-gradient solve with H per input direction, relative tolerance 1e-6, no
    /// spectral truncation, optional ridge.
    | Implicit
    /// Theorem 3 with a plain solve: every eigenvalue of H inverted.
    | AnalyticNoRegularisation
    /// Algorithm 1: Theorem 3 with eigenvalues of H ≤ τ = 1e-10 dropped.
    | AnalyticTruncated
    /// The Schur fast path of Algorithm 1 (this library's default).
    | AnalyticSchur

/// One Hessian computed by one method, with what it cost.
type ComparisonRun =
    { Method: ComparisonMethod
      Hessian: Matrix
      /// Wall time of the Hessian alone (the forward solve is shared and timed separately), except for
      /// Unroll, whose Hessian is built during its own solve: there it is the solve with tangents.
      Seconds: float
      /// Managed memory allocated while computing it: an upper bound on its peak working memory.
      AllocatedBytes: int64
      /// Sinkhorn iterations the tangents went through (Unroll), CG iterations summed over right-hand
      /// sides (Implicit), 0 otherwise.
      InnerIterations: int
      /// Implicit: right-hand sides whose CG stopped at the cap.
      Unconverged: int }

/// The comparison methods of the paper's Section 5, implemented densely for the sizes they can reach.
module HessianComparison =
    /// Hessian columns from tangents of the potentials: with [ḟ; ġ] for direction t = (l, b),
    /// Hess[(k,a), t] = (1/ε) Σ_j P_kj (ḟ_k + ġ_j − Ċ_kj) ∇c_kj,a + 2 r_k δ_{(k,a),t},  Ċ_kj = δ_kl ∇c_kj,b.
    let internal fromPotentialTangents (la: ILinearAlgebra) (dp: DensePlan) (fDot: Matrix) (gDot: Matrix) =
        let x, y, plan, eps, grad = dp.X, dp.Y, dp.Plan, dp.Eps, dp.Gradient
        let n, m, d = x.Rows, y.Rows, x.Cols
        let nd = n * d
        let pg = la.Multiply(plan, false, gDot, false)
        let h = Matrix.Zeros(nd, nd)
        for a in 0 .. d - 1 do
            // Σ_j P_kj ġ_j,t y_ja, one product per coordinate a.
            let yg = Matrix(m, nd, Array.init (m * nd) (fun u -> y.[u / nd, a] * gDot.Data.[u]))
            let pyg = la.Multiply(plan, false, yg, false)
            for k in 0 .. n - 1 do
                let row = (k * d + a) * nd
                for t in 0 .. nd - 1 do
                    h.Data.[row + t] <- (fDot.[k, t] * grad.[k, a] + 2.0 * (x.[k, a] * pg.[k, t] - pyg.[k, t])) / eps
        // The Ċ terms are the block diagonal.
        BlockDiagonal.addTo dp h
        h

    /// Log-sum-exp of a row of values.
    let private lse (values: float[]) =
        let mx = Array.max values
        if Double.IsNegativeInfinity mx then mx else mx + log (Array.sumBy (fun v -> exp (v - mx)) values)

    /// Unrolled Sinkhorn with forward-mode tangents: the same g-then-f log-domain updates and row-marginal
    /// stopping rule as `Sinkhorn.solve`, on a materialised cost, with ḟ (n × nd) and ġ (m × nd) carried
    /// through every update. Like the solver it returns the pair whose row error was measured — the f before
    /// the last f-update with the last g — so its Hessian is the derivative of the same early-stopped map as
    /// every other method's. Returns that Hessian and the iterations it went through.
    let unroll (la: ILinearAlgebra) (x: Matrix) (y: Matrix) (a: float[]) (b: float[]) (eps: float) (tolerance: float) (maxIterations: int) =
        let n, m, d = x.Rows, y.Rows, x.Cols
        let nd = n * d
        let cost = OtProblem.costMatrix (OtProblem.create x y (Some a) (Some b))
        let logA, logB = Array.map log a, Array.map log b
        let f = Array.zeroCreate n
        let g = Array.zeroCreate m
        let mutable fDot = Matrix.Zeros(n, nd)
        let mutable gDot = Matrix.Zeros(m, nd)
        // ∂C_kj/∂x_(k,q) = 2 (x_kq − y_jq): the only non-zero entries of Ċ for direction (k, q).
        let dc k j q = 2.0 * (x.[k, q] - y.[j, q])
        let mutable iterations = 0
        let mutable err = infinity
        // The pair the solver returns: f (and ḟ) before the latest f-update.
        let fMeasured = Array.zeroCreate n
        let mutable fDotMeasured = fDot
        let stopAt = StoppingRule.threshold tolerance
        while err >= stopAt && iterations < maxIterations do
            // g-update and its tangent ġ_j = Σ_i w_ij (Ċ_ij − ḟ_i), w the column softmax.
            let w = Matrix.Zeros(n, m)
            for j in 0 .. m - 1 do
                let col = Array.init n (fun i -> logA.[i] + (f.[i] - cost.[i, j]) / eps)
                let l = lse col
                g.[j] <- -eps * l
                for i in 0 .. n - 1 do w.[i, j] <- exp (col.[i] - l)
            let wf = la.Multiply(w, true, fDot, false)
            gDot <- Matrix(m, nd, Array.init (m * nd) (fun u ->
                let j, t = u / nd, u % nd
                w.[t / d, j] * dc (t / d) j (t % d) - wf.Data.[u]))
            // f-update and its tangent ḟ_i = Σ_j v_ij (Ċ_ij − ġ_j), v the row softmax.
            let v = Matrix.Zeros(n, m)
            Array.blit f 0 fMeasured 0 n
            fDotMeasured <- fDot
            err <- 0.0
            for i in 0 .. n - 1 do
                let row = Array.init m (fun j -> logB.[j] + (g.[j] - cost.[i, j]) / eps)
                let l = lse row
                let fNew = -eps * l
                err <- err + abs (a.[i] * exp ((f.[i] - fNew) / eps) - a.[i])
                f.[i] <- fNew
                for j in 0 .. m - 1 do v.[i, j] <- exp (row.[j] - l)
            let vg = la.Multiply(v, false, gDot, false)
            fDot <- Matrix(n, nd, Array.init (n * nd) (fun u ->
                let i, t = u / nd, u % nd
                let own = if t / d = i then (let mutable s = 0.0 in (for j in 0 .. m - 1 do s <- s + v.[i, j] * dc i j (t % d)); s) else 0.0
                own - vg.Data.[u]))
            if not (Array.forall Double.IsFinite f && Array.forall Double.IsFinite g) then
                raise (NumericalFailureException(sprintf "unrolled Sinkhorn produced non-finite potentials at iteration %d." iterations, iterations, err))
            iterations <- iterations + 1
        let plan = Matrix(n, m, Array.init (n * m) (fun u -> let i, j = u / m, u % m in a.[i] * b.[j] * exp ((fMeasured.[i] + g.[j] - cost.[i, j]) / eps)))
        fromPotentialTangents la (DensePlan.ofMatrix x y plan eps) fDotMeasured gDot, iterations

    /// Implicit differentiation: for every direction t, CG on (H + ridge I)[ḟ; ġ] = R_t (the differentiated
    /// marginal constraints), relative tolerance `tolerance`, at most `maxCg` iterations (default 10·(n+m),
    /// as jax.scipy's cg). Returns the Hessian, total CG iterations and the unconverged count.
    let implicitDifferentiation (la: ILinearAlgebra) (x: Matrix) (y: Matrix) (plan: Matrix) (eps: float) (ridge: float) (tolerance: float) (maxCg: int option) =
        let n, m, d = x.Rows, y.Rows, x.Cols
        let nd = n * d
        let h = HMatrix.dense plan
        let cap = defaultArg maxCg (10 * (n + m))
        // Column t = (l, q) of R: [Σ_j P_ij Ċ_ij; Σ_i P_ij Ċ_ij] with Ċ non-zero on row l only.
        let rhs = Matrix.Zeros(n + m, nd)
        for t in 0 .. nd - 1 do
            let l, q = t / d, t % d
            for j in 0 .. m - 1 do
                let c = plan.[l, j] * 2.0 * (x.[l, q] - y.[j, q])
                rhs.[l, t] <- rhs.[l, t] + c
                rhs.[n + j, t] <- c
        // (H + ridge I) D for the live columns, one GEMM.
        let apply (dirs: float[][]) =
            let k = dirs.Length
            let hd = la.Multiply(h, false, Matrix(n + m, k, Array.init ((n + m) * k) (fun u -> dirs.[u % k].[u / k])), false)
            Array.init k (fun c -> Array.init (n + m) (fun i -> hd.Data.[i * k + c] + ridge * dirs.[c].[i]))
        let columns = Array.init nd (fun t -> Array.init (n + m) (fun i -> rhs.[i, t]))
        let solved = BlockCg.solve apply (Array.map Array.copy) ignore columns (Array.zeroCreate nd) tolerance cap Threading.CancellationToken.None
        let z, total = solved.Solutions, Array.sum solved.Iterations
        let unconverged = solved.Residuals |> Array.filter (fun v -> v > tolerance) |> Array.length
        let fDot = Matrix(n, nd, Array.init (n * nd) (fun u -> z.[u % nd].[u / nd]))
        let gDot = Matrix(m, nd, Array.init (m * nd) (fun u -> z.[u % nd].[n + u / nd]))
        fromPotentialTangents la (DensePlan.ofMatrix x y plan eps) fDot gDot, total, unconverged

    /// Runs one method on a solved point-cloud problem and measures it. `solve` settings (ε, tolerance,
    /// iteration cap) are those of `res`'s solve; Unroll repeats the solve with tangents.
    let run (plan: SolvedPlan) (tolerance: float) (maxIterations: int) (ridge: float) (meth: ComparisonMethod) =
        let p = plan.Problem
        let la = plan.LinearAlgebra
        let allocated = GC.GetTotalAllocatedBytes(true)
        let sw = Stopwatch.StartNew()
        let analytic m = Hessian.compute plan { HessianOptions.Default with Method = m }
        let hess, inner, unconverged =
            match meth with
            | Unroll ->
                let h, its = unroll la p.X p.Y p.A p.B plan.Epsilon tolerance maxIterations
                h, its, 0
            | Implicit ->
                implicitDifferentiation la p.X p.Y (plan.Materialise()) plan.Epsilon ridge 1e-6 None
            | AnalyticNoRegularisation -> (analytic NoRegularisation).Hessian, 0, 0
            | AnalyticTruncated -> (analytic Eigen).Hessian, 0, 0
            | AnalyticSchur -> (analytic Schur).Hessian, 0, 0
        { Method = meth; Hessian = hess; Seconds = sw.Elapsed.TotalSeconds
          AllocatedBytes = GC.GetTotalAllocatedBytes(true) - allocated; InnerIterations = inner; Unconverged = unconverged }

/// One method's measurement on a protocol trial: the marginal error of its Hessian (eq. 59, +∞ when it broke down), its
/// time and allocation, or the numerical failure that stopped it.
type ProtocolMeasurement =
    { Error: float
      /// Null when it broke down.
      Run: ComparisonRun option
      /// The numerical failure, or null.
      Failure: string }
    member m.Seconds = match m.Run with Some r -> r.Seconds | None -> 0.0
    member m.Succeeded = m.Run.IsSome

/// One problem of the paper's Section 5 protocol, solved on the CPU: d = 2, n points uniform in the unit square, y = x,
/// uniform weights, ε = scale · mean cost, Sinkhorn tolerance 0.01/n^0.33 (the benchmarks' `bench compare`).
type ProtocolTrial private (problem: OtProblem, plan: SolvedPlan, tolerance: float, maxIterations: int, solveSeconds: float) =
    /// Draws the problem of (n, seed) and solves it at ε = scale · mean cost.
    static member Solve(n: int, scale: float, seed: int) =
        let rng = Random(seed * 7919 + n)
        let x = Matrix(n, 2, Array.init (n * 2) (fun _ -> rng.NextDouble()))
        let problem = OtProblem.create x x None None
        let tolerance = 0.01 / Math.Pow(float n, 0.33)
        let maxIterations = 200_000
        let sw = Stopwatch.StartNew()
        let plan =
            Sinkhorn.solve CpuBackend.Instance problem
                { SinkhornOptions.Default with Epsilon = RelativeToMeanCost scale; Tolerance = tolerance; MaxIterations = maxIterations }
        new ProtocolTrial(problem, plan, tolerance, maxIterations, sw.Elapsed.TotalSeconds)

    /// Seconds the forward solve took.
    member _.SolveSeconds = solveSeconds
    /// Its Sinkhorn iterations.
    member _.Iterations = plan.Iterations

    /// Runs one method and measures its Hessian's marginal error.
    member _.Measure(meth: ComparisonMethod, ridge: float) =
        try
            let run = HessianComparison.run plan tolerance maxIterations ridge meth
            let error = Hessian.marginalError run.Hessian 2 problem.A
            { Error = (if Double.IsFinite error then error else infinity); Run = Some run; Failure = null }
        with :? NumericalFailureException as e ->
            { Error = infinity; Run = None; Failure = e.Message }

    interface IDisposable with
        member _.Dispose() = (plan :> IDisposable).Dispose()
