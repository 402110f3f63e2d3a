namespace OtNative.Core

open OtNative
open System
open System.Diagnostics

/// Plain Sinkhorn updates on many problems at once on a batching backend (CUDA): every iteration one batched g-update
/// and one batched f-update of all of them, each problem keeping its own iterations, stopping rule and answer.
module Lockstep =
    /// Whether a batch with these options can run in lockstep: plain Sinkhorn updates from f = 0 (the batched
    /// half-step has no initialiser, annealing or L-BFGS).
    let isLockstep (options: SinkhornOptions) =
        options.Solver = ForwardSolver.Sinkhorn && not options.Anneal && options.Start = Start.Initialised
        && options.Initializer = Initializer.None

    /// Plain Sinkhorn updates on the problems of `batch` (prepared, centred, on `operators` too) in lockstep: every
    /// iteration is one batched g-update and one batched f-update of all of them. Each problem gets `iterate`'s
    /// iterations, stopping rule, progress reports (with its index) and returned pair; once converged or failed its
    /// state is frozen (the batch still computes its half-steps, into scratch). Per problem: the result or the exception.
    let private lockstep (batch: IBatchedHalfStep) (operators: ITransportOperator[]) (options: SinkhornOptions) =
        let count = operators.Length
        let problems = operators |> Array.map (fun o -> o.Problem)
        let sw = Stopwatch.StartNew()
        let outcome : Result<SinkhornSolution, exn> option[] = Array.create count None
        let eps =
            problems |> Array.mapi (fun k p ->
                try
                    SinkhornLoop.validateOptions p options
                    OtProblem.resolveEpsilon p options.Epsilon
                with e ->
                    outcome.[k] <- Some (Error e)
                    1.0)
        let f = problems |> Array.map (fun p -> Array.zeroCreate<float> p.N)
        let g = problems |> Array.map (fun p -> Array.zeroCreate<float> p.M)
        let fNext = problems |> Array.map (fun p -> Array.zeroCreate<float> p.N)
        // Where each problem's half-steps go: its own potentials while it runs, scratch once it has finished or failed.
        let gOut = Array.copy g
        let fOut = Array.copy fNext
        let retire k =
            gOut.[k] <- Array.zeroCreate problems.[k].M
            fOut.[k] <- Array.zeroCreate problems.[k].N
        let stopAt = StoppingRule.threshold options.Tolerance
        let hostWidth = if count = 0 then Simd.configured.Value else CpuBackend.HostWidth operators.[0].Backend
        let err = Array.create count infinity
        let finish k iterations converged =
            let p = problems.[k]
            outcome.[k] <- Some (
                try
                    SinkhornLoop.requireFiniteError iterations err.[k]
                    Ok { F = f.[k]; G = g.[k]; Epsilon = eps.[k]; Value = SinkhornLoop.dualValue p f.[k] g.[k]; Iterations = iterations
                         MarginalError = err.[k]; Converged = converged; Passes = 2 * iterations; SwitchedToLbfgsAt = None
                         MixedIterations = 0; Elapsed = sw.Elapsed }
                with e -> Error e)
        for k in 0 .. count - 1 do if outcome.[k].IsSome then retire k
        let mutable iter = 0
        while iter < options.MaxIterations && Array.exists Option.isNone outcome do
            options.Cancellation.ThrowIfCancellationRequested()
            batch.Softmin(Cols, eps, f, gOut)
            batch.Softmin(Rows, eps, gOut, fOut)
            iter <- iter + 1
            for k in 0 .. count - 1 do
                if outcome.[k].IsNone then
                    try
                        SinkhornLoop.checkFinite "g" g.[k] (iter - 1) err.[k]
                        SinkhornLoop.checkFinite "f" fNext.[k] (iter - 1) err.[k]
                        err.[k] <- SinkhornLoop.rowError hostWidth problems.[k] eps.[k] f.[k] fNext.[k]
                        if err.[k] < stopAt then finish k iter true
                        elif iter < options.MaxIterations then Array.blit fNext.[k] 0 f.[k] 0 problems.[k].N
                        SinkhornLoop.reportProgressOf k options iter err.[k] sw
                    with e -> outcome.[k] <- Some (Error e)
                    if outcome.[k].IsSome then retire k
        for k in 0 .. count - 1 do
            if outcome.[k].IsNone then finish k iter false
        outcome |> Array.map Option.get

    /// Solves the problems by plain Sinkhorn updates in lockstep on a batching backend (`isLockstep options` must
    /// hold; every problem a point cloud the backend supports, all of one dimension): each centred and prepared on its
    /// own operator for the derivatives and all together for the half-steps. Per problem: the verified plan, owning
    /// its operator, or the exception it failed with. Cancellation raises.
    let solveLockstep (backend: IBackend) (batching: IBatchingBackend) (problems: OtProblem[]) (options: SinkhornOptions) =
        if not (isLockstep options) then invalidArg "options" "lockstep solves run plain Sinkhorn updates from f = 0."
        let centred = problems |> Array.map OtProblem.centred
        let operators = Array.zeroCreate<ITransportOperator> centred.Length
        try
            for k in 0 .. centred.Length - 1 do operators.[k] <- backend.Prepare centred.[k]
            let results =
                use batch = batching.PrepareBatch centred
                lockstep batch operators options
            results |> Array.mapi (fun k result ->
                match result with
                | Ok solution ->
                    let plan = new SolvedPlan(operators.[k], solution, true)
                    try Ok (Sinkhorn.verify plan options)
                    with e ->
                        (plan :> IDisposable).Dispose()
                        Error e
                | Error e ->
                    operators.[k].Dispose()
                    Error e)
        with _ ->
            for o in operators do if not (obj.ReferenceEquals(o, null)) then o.Dispose()
            reraise ()
