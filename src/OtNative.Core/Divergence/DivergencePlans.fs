namespace OtNative.Core

open System
open OtNative

/// The mixed second derivative of a self-term, the one piece of the divergence's Hessian no single plan gives.
module DivergenceHessian =
    /// H₁₂ = ∂²L/∂x∂y (n·d × m·d) of a point-cloud plan: (1/ε) R_xᵀ H⁺ R_y plus the direct term
    /// P_kl (4/ε (x_k − y_l)(x_k − y_l)ᵀ − 2I), H⁺ Algorithm 1's truncated pseudo-inverse (eigenvalues ≤ τ dropped).
    /// R_x is the Hessian's right-hand side; R_y its analogue for y: the f-block P_kl ∇_y c_kl, the g-block
    /// δ_jl Σ_k P_kl ∇_y c_kl, with ∇_y c = −2(x − y). `values, vectors`: H's eigendecomposition (`Hessian.eigenOfH`).
    /// Under another cost (`cost`, translation-invariant: ∇_y c = −∇ₓc, ∇²ₓᵧc = −∇²ₓc) the same with ∇ₓc in place of
    /// 2(x − y) and ∇²ₓc in place of 2I (math.md §10).
    let mixed (la: ILinearAlgebra) (pm: DensePlan) (cost: IPairCost option) (tau: float) (values: float[], vectors: Matrix) =
        let n, m, d = pm.Plan.Rows, pm.Plan.Cols, pm.X.Cols
        let plan, x, y = pm.Plan, pm.X, pm.Y
        // ∇ₓc and ∇²ₓc of pair (k, l) into the buffers.
        let derivatives k l (gradient: float[]) (hessian: float[]) =
            match cost with
            | Some c ->
                let xk = System.ReadOnlySpan(x.Data, k * d, d)
                let yl = System.ReadOnlySpan(y.Data, l * d, d)
                c.Gradient(xk, yl, System.Span gradient)
                c.Hessian(xk, yl, System.Span hessian)
            | None ->
                for a in 0 .. d - 1 do
                    gradient.[a] <- 2.0 * (x.[k, a] - y.[l, a])
                    for b in 0 .. d - 1 do hessian.[a * d + b] <- if a = b then 2.0 else 0.0
        let gradient, hessian = Array.zeroCreate d, Array.zeroCreate (d * d)
        let rx = Hessian.rightHandSide pm 1.0
        let ry = Matrix.Zeros(n + m, m * d)
        for k in 0 .. n - 1 do
            for l in 0 .. m - 1 do
                derivatives k l gradient hessian
                for b in 0 .. d - 1 do
                    let v = -plan.[k, l] * gradient.[b]
                    ry.[k, l * d + b] <- v
                    ry.[n + l, l * d + b] <- ry.[n + l, l * d + b] + v
        let keep = [| for i in 0 .. values.Length - 1 do if values.[i] > tau then yield i |]
        let kept = Matrix(vectors.Rows, keep.Length, Array.init (vectors.Rows * keep.Length) (fun t -> vectors.[t / keep.Length, keep.[t % keep.Length]]))
        let px = la.Multiply(kept, true, rx, false)
        let py = la.Multiply(kept, true, ry, false)
        for i in 0 .. keep.Length - 1 do
            let inv = 1.0 / values.[keep.[i]]
            for c in 0 .. py.Cols - 1 do py.[i, c] <- py.[i, c] * inv
        let h = la.Multiply(px, true, py, false)
        for i in 0 .. h.Data.Length - 1 do h.Data.[i] <- h.Data.[i] / pm.Eps
        for k in 0 .. n - 1 do
            for l in 0 .. m - 1 do
                let pkl = plan.[k, l]
                derivatives k l gradient hessian
                for a in 0 .. d - 1 do
                    for b in 0 .. d - 1 do
                        let direct = pkl * (gradient.[a] * gradient.[b] / pm.Eps - hessian.[a * d + b])
                        h.[k * d + a, l * d + b] <- h.[k * d + a, l * d + b] + direct
        h

/// The debiased divergence S(x) = L(x, y) − ½L(x, x) − ½L(y, y) (math.md §2–3) from its solves at the cross term's ε,
/// held for its value and every x-derivative so that nothing is solved twice: the cross plan (by the symmetric update
/// when the problem is itself a self-transport) and the source's self-term, solved at once, and the target's self-term,
/// solved when the value or the convergence is first asked for (no x-derivative needs it: a flow's gradient steps pay
/// two solves). Every self-term by the symmetric update. Disposing it releases the plans.
[<Sealed>]
type DivergencePlans private (cross: SolvedPlan, sourceSelf: SolvedPlan, targetSelf: Lazy<SolvedPlan>) =
    let mutable disposed = false
    let live () = if disposed then raise (ObjectDisposedException(nameof DivergencePlans, "This divergence was disposed; solve it again to use it."))

    /// The self-transport problem of one cloud with its weights.
    static member private SelfProblem (cost: IPairCost option) (points: Matrix) (weights: float[]) (tau: float) =
        let geometry = match cost with Some c -> CloudsWithCost(points, points, c) | None -> PointClouds(points, points)
        { Geometry = geometry; A = weights; B = weights; Relaxation = { TauA = tau; TauB = tau } }

    /// Solves the cross term and the source's self-term of `problem` (point clouds) at the cross term's ε.
    static member Solve(backend: IBackend, problem: OtProblem, options: SinkhornOptions) =
        match problem.Geometry with
        | CostMatrix _ -> raise (NotSupportedException "The debiased divergence needs point clouds: a cost matrix does not define the self-transport costs.")
        | CloudsWithCost (_, _, cost) when not cost.Symmetric ->
            raise (NotSupportedException(sprintf "The debiased divergence needs a symmetric cost (c(x, y) = c(y, x)): its self-terms transport a cloud onto itself. The cost %s does not say it is symmetric." cost.Name))
        | PointClouds _ | CloudsWithCost _ ->
            let relaxation = problem.Relaxation
            // The unbalanced divergence debiases with one τ (math.md §9): its self-terms relax both sides alike.
            if relaxation.TauA <> relaxation.TauB then
                raise (NotSupportedException(sprintf "The unbalanced divergence needs one relaxation on both sides (τ_a = τ_b); got τ_a = %g, τ_b = %g." relaxation.TauA relaxation.TauB))
            let eps = OtProblem.resolveEpsilonCancellable options.Cancellation problem options.Epsilon
            let atEps = { options with Epsilon = Absolute eps }
            // Self-terms start from zero: a warm start given for the cross problem means nothing to them.
            let selfOptions = { atEps with Start = Start.Initialised }
            // A cloud against itself is a self-transport too: the same solver then gives the divergence 0 exactly.
            let cross = (if OtProblem.isSelfTransport problem then Sinkhorn.solveSymmetric else Sinkhorn.solve) backend problem atEps
            try
                let sourceSelf = Sinkhorn.solveSymmetric backend (DivergencePlans.SelfProblem problem.PairCost problem.X problem.A relaxation.TauA) selfOptions
                let targetSelf = lazy (Sinkhorn.solveSymmetric backend (DivergencePlans.SelfProblem problem.PairCost problem.Y problem.B relaxation.TauB) selfOptions)
                // On MPI the solve is collective: every rank solves it now, not when one rank first reads the value (a
                // rank-0-only step in between would leave the others waiting in its collectives).
                if backend :? ICollectiveBackend then targetSelf.Force() |> ignore
                new DivergencePlans(cross, sourceSelf, targetSelf)
            with _ ->
                (cross :> IDisposable).Dispose()
                reraise ()

    /// Refuses, before anything is allocated, a divergence Hessian of n × m points in d dimensions that cannot fit: the
    /// cross Hessian is held while the self-term's are computed, and three more (n·d)² matrices meet at the end (the
    /// self-term's own and mixed Hessians and the result).
    static member RequireHessianMemory(n: int, m: int, d: int) =
        let crossBytes, crossLargest = Hessian.memoryNeeded n m d Eigen
        let selfBytes, selfLargest = Hessian.memoryNeeded n n d Eigen
        let nd = float n * float d
        DenseRequest.require (sprintf "The divergence's dense Hessian (n = %d, d = %d: %.0f × %.0f)" n d nd nd)
            (crossBytes + selfBytes + 8.0 * 3.0 * nd * nd) (max crossLargest selfLargest)
            "its Hessian-vector products (otnative hvp --loss divergence, DivergenceSolution.HessianVectorProduct) need O((n + m)·d) memory"

    /// The self-term's mixed Hessian ∂²L/∂x∂y is written with ∇_y c = −∇ₓc: it fails for a cost that does not say it is
    /// a function of x − y.
    member private _.RequireMixedDerivatives() =
        match cross.Problem.PairCost with
        | Some cost when not cost.TranslationInvariant ->
            raise (NotSupportedException(sprintf "The divergence's second derivatives need a translation-invariant cost (a function of x − y), which %s does not say it is; its value and gradient need only symmetry." cost.Name))
        | _ -> ()

    /// The (a, b) plan.
    member _.Cross = live (); cross
    /// The (a, a) self-transport plan.
    member _.SourceSelf = live (); sourceSelf
    /// The (b, b) self-transport plan (solved on first use).
    member _.TargetSelf = live (); targetSelf.Value
    /// The absolute ε of all three solves.
    member _.Epsilon = cross.Epsilon
    /// L_ε(a, b) − ½L_ε(a, a) − ½L_ε(b, b).
    member this.Value = live (); cross.Value - 0.5 * sourceSelf.Value - 0.5 * this.TargetSelf.Value
    /// Whether all three solves reached the tolerance.
    member this.Converged = live (); cross.Converged && sourceSelf.Converged && this.TargetSelf.Converged

    /// ∂S/∂x (n×d): the cross term's gradient minus half the self-term's, whose two arguments both move with x — by
    /// symmetry twice its gradient in the first argument — so G_xy − G_xx. The target's self-term does not depend on x.
    member _.Gradient() =
        live ()
        let gxy, gxx = Gradients.eot cross, Gradients.eot sourceSelf
        Matrix(gxy.Rows, gxy.Cols, Array.map2 (-) gxy.Data gxx.Data)

    /// ∇²ₓS · A for several directions A (n×d), matrix-free: the cross plan's HVPs minus the self-term's (H₁₁ + H₁₂) A
    /// (`SelfTermProducts.applyMany`), two CG solves, each pass carrying every direction. The products and the
    /// worse of the two CG reports.
    member this.HessianVectorProducts(cg: CgOptions, directions: Matrix[]) =
        live ()
        this.RequireMixedDerivatives()
        let crossProducts, crossReport = HessianOperator(cross, cg).ApplyMany directions
        let own, selfReport = SelfTermProducts.applyMany sourceSelf cg directions
        Array.map2 (fun (c: Matrix) (o: Matrix) -> Matrix(c.Rows, c.Cols, Array.map2 (-) c.Data o.Data)) crossProducts own,
        CgReport.Worse(crossReport, selfReport)

    /// ∇²ₓS (n·d × n·d): the cross Hessian minus the self-term's own Hessian H₁₁ and ½(H₁₂ + H₁₂ᵀ) — at the symmetric
    /// point d²L(x, x) = H₁₁ + H₁₂ + H₂₁ + H₂₂ with H₂₂ = H₁₁ and H₂₁ = H₁₂ᵀ — all by Algorithm 1 with the absolute
    /// threshold τ, the self-term's two from one eigendecomposition of its H (computing it for each paid the dominant
    /// cost twice).
    member this.Hessian(tau: float, cancellation: Threading.CancellationToken) =
        live ()
        this.RequireMixedDerivatives()
        Validation.positive "threshold" tau
        let p = cross.Problem
        DivergencePlans.RequireHessianMemory(p.N, p.M, p.X.Cols)
        let hessianOptions = { HessianOptions.Default with Threshold = tau; Cancellation = cancellation }
        let crossHessian = (Hessian.compute cross hessianOptions).Hessian
        let la = sourceSelf.LinearAlgebra
        let pm = DensePlan.ofSolved sourceSelf
        let eigen = Hessian.eigenOfH la pm
        cancellation.ThrowIfCancellationRequested()
        let own = (Hessian.computeDense la pm hessianOptions (Some eigen)).Hessian
        let h12 = DivergenceHessian.mixed la pm sourceSelf.Problem.PairCost tau eigen
        let size = crossHessian.Rows
        Matrix(size, size, Array.init (size * size) (fun t ->
            let i, j = t / size, t % size
            crossHessian.Data.[t] - own.Data.[t] - 0.5 * (h12.[i, j] + h12.[j, i])))

    interface IDisposable with
        member _.Dispose() =
            if not disposed then
                disposed <- true
                (cross :> IDisposable).Dispose()
                (sourceSelf :> IDisposable).Dispose()
                if targetSelf.IsValueCreated then (targetSelf.Value :> IDisposable).Dispose()
