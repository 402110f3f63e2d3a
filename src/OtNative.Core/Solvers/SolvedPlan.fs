namespace OtNative.Core

open OtNative
open System

/// The output of a solve, and the one object every derivative consumes: the prepared transport operator,
/// the potentials f, g at ε, the solve's diagnostics, and — computed once, on first use — the plan's own
/// marginals r = P1, s = Pᵀ1 and, for point clouds, P y and the second moments Σ_j P_kj y_j y_jᵀ. Values, gradients, the dense Hessian, the HVP
/// operator, the parameter Hessian, batches and the applications all read the plan from here, so nothing
/// is prepared or uploaded twice.
///
/// Disposing it releases the operator when the plan owns it (a plan from `Sinkhorn.solve` does; one from
/// `Sinkhorn.solveWith` leaves the caller's operator alone). A disposed plan refuses further work.
[<Sealed; AllowNullLiteral>]
type SolvedPlan(operator: ITransportOperator, solution: SinkhornSolution, ownsOperator: bool) =
    let problem = operator.Problem
    let eps = solution.Epsilon
    let mutable solution = solution
    let mutable disposed = false
    // The token the moment passes check while `Measure` forces them (the solve's own); none afterwards.
    let mutable measuring = Threading.CancellationToken.None
    let live () = if disposed then raise (ObjectDisposedException(nameof SolvedPlan, "This solved plan was disposed; solve again to use it."))
    let apply side (v: Matrix) weighted =
        live ()
        operator.Apply(side, eps, solution.F, solution.G, v, weighted)
    let ones count = Matrix.Column(Array.create count 1.0)
    // One pass with the columns [1 | y] gives r and P y together (the gradient needs both).
    let rowMoments =
        lazy
            (live ()
             let targets = match problem.Geometry with PointClouds (_, y) | CloudsWithCost (_, y, _) -> y | CostMatrix _ -> null
             match operator with
             | :? IMomentPasses as passes ->
                 let d = if isNull targets then 0 else targets.Cols
                 let r = Array.zeroCreate problem.N
                 let py = Array.zeroCreate (problem.N * d)
                 passes.RowMoments(eps, solution.F, solution.G, targets, r, py, measuring)
                 r, (if isNull targets then None else Some(Matrix(problem.N, d, py)))
             | _ when isNull targets -> (apply Rows (ones problem.M) false).Data, None
             | _ ->
                 let d = targets.Cols
                 let v = Matrix(problem.M, d + 1, Array.init (problem.M * (d + 1)) (fun t -> let j, q = t / (d + 1), t % (d + 1) in if q = 0 then 1.0 else targets.[j, q - 1]))
                 let both = apply Rows v false
                 Array.init problem.N (fun k -> both.[k, 0]),
                 Some(Matrix(problem.N, d, Array.init (problem.N * d) (fun t -> both.[t / d, t % d + 1]))))
    let columnMass =
        lazy
            (live ()
             match operator with
             | :? IMomentPasses as passes ->
                 let s = Array.zeroCreate problem.M
                 passes.ColumnMass(eps, solution.F, solution.G, s, measuring)
                 s
             | _ -> (apply Cols (ones problem.N) false).Data)
    // M2_k = Σ_j P_kj y_j y_jᵀ (n × d², index a·d + b), for the Hessian operator.
    let secondMoments =
        lazy
            (let y = problem.Y
             let d = y.Cols
             let w = d * d
             apply Rows (Matrix(problem.M, w, Array.init (problem.M * w) (fun t -> let j, c = t / w, t % w in y.[j, c / d] * y.[j, c % d]))) false)

    /// The prepared operator the plan is evaluated through.
    member _.Operator = operator
    /// The problem that was solved, as prepared: a plan from `Sinkhorn.solve` holds the clouds shifted to be centred
    /// at the origin (`OtProblem.centred`), which changes no value or derivative.
    member _.Problem = problem
    /// The backend the plan lives on.
    member _.Backend = operator.Backend
    /// The backend's dense linear algebra.
    member _.LinearAlgebra = operator.Backend.LinearAlgebra
    /// The solve's potentials and diagnostics.
    member _.Solution = solution
    /// Source potential f (shared, not copied).
    member _.F = solution.F
    /// Target potential g (shared, not copied).
    member _.G = solution.G
    /// The absolute ε of the solve.
    member _.Epsilon = eps
    /// The dual value ⟨a,f⟩ + ⟨b,g⟩.
    member _.Value = solution.Value
    member _.Iterations = solution.Iterations
    /// ‖P1 − a‖₁ of this plan.
    member _.MarginalError = solution.MarginalError
    member _.Converged = solution.Converged
    member _.Elapsed = solution.Elapsed

    /// (P ∘ W) V for V (m×k), W = C when `costWeighted`, else all ones; one streamed pass.
    member _.ApplyRows(v: Matrix, costWeighted: bool) = apply Rows v costWeighted
    /// (P ∘ W)ᵀ V for V (n×k); one streamed pass.
    member _.ApplyCols(v: Matrix, costWeighted: bool) = apply Cols v costWeighted
    /// Pᵀ diag(rowWeights) P V (m×k) for V (m×k): one streamed pass where the operator has a kernel for it
    /// (`ICoupledApply`, cancellable between blocks of rows), else two.
    member _.ApplyCoupled(rowWeights: float[], v: Matrix, cancellation: Threading.CancellationToken) =
        live ()
        match operator with
        | :? ICoupledApply as fused -> fused.Coupled(eps, solution.F, solution.G, rowWeights, v, cancellation)
        | _ ->
            let pv = operator.Apply(Rows, eps, solution.F, solution.G, v, false)
            let scaled = Matrix(pv.Rows, pv.Cols, Array.init pv.Data.Length (fun t -> pv.Data.[t] * rowWeights.[t / pv.Cols]))
            operator.Apply(Cols, eps, solution.F, solution.G, scaled, false)
    /// The plan's row mass r = P1 (shared, not copied).
    member _.RowMass =
        live ()
        fst rowMoments.Value
    /// The plan's column mass s = Pᵀ1 (shared, not copied).
    member _.ColumnMass =
        live ()
        columnMass.Value
    /// P y (n×d) for point clouds (shared, not copied).
    member _.TransportedTargets =
        live ()
        match snd rowMoments.Value with
        | Some py -> py
        | None -> raise (NotSupportedException "This problem was given as a cost matrix: it has no target coordinates to transport.")
    /// M2_k = Σ_j P_kj y_j y_jᵀ (n × d², column a·d + b) for point clouds (shared, not copied).
    member _.SecondMoments =
        live ()
        secondMoments.Value
    /// The materialised n×m plan.
    member _.Materialise() =
        live ()
        let entries = float problem.N * float problem.M
        DenseRequest.require (sprintf "The dense %d × %d plan" problem.N problem.M) (8.0 * entries) entries
            "the streamed operations (values, gradients, Hessian-vector products) never store it"
        operator.Plan(eps, solution.F, solution.G)

    /// The plan's marginals r and s, computed now (two streamed passes, cancellable between blocks of rows where the
    /// operator measures them itself, `IMomentPasses`) and kept for the derivatives.
    member internal _.Measure(cancellation: Threading.CancellationToken) =
        live ()
        measuring <- cancellation
        try
            rowMoments.Force() |> ignore
            columnMass.Force() |> ignore
        finally measuring <- Threading.CancellationToken.None
        fst rowMoments.Value, columnMass.Value

    /// Replaces the diagnostics once the solver has measured the returned plan itself (two more passes).
    member internal _.Reassess(marginalError: float, converged: bool) =
        solution <- { solution with MarginalError = marginalError; Converged = converged; Passes = solution.Passes + 2 }

    interface IDisposable with
        member _.Dispose() =
            if not disposed then
                disposed <- true
                if ownsOperator then operator.Dispose()
