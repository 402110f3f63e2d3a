namespace OtNative.Core

open OtNative
open System
open System.Threading.Tasks

/// What to compute for every problem of a batch besides the solve itself.
type BatchRequest =
    { /// ∂L_ε/∂x (Theorem 1).
      Gradients: bool
      /// The dense Hessian (Schur fast path); for small problems.
      Hessians: bool
      /// One direction (n×d) per problem for a Hessian-vector product, or None.
      HvpDirections: Matrix[] option
      /// The CG settings of those products.
      Cg: CgOptions
      /// The sharp distance ⟨P, C⟩ (one more streamed pass).
      SharpValues: bool }

    /// Values and gradients.
    static member Default = { Gradients = true; Hessians = false; HvpDirections = None; Cg = CgOptions.Default; SharpValues = false }

/// One problem's results.
type BatchItem =
    { Solution: SinkhornSolution
      Gradient: Matrix option
      Hessian: Matrix option
      HessianVectorProduct: Matrix option
      /// The CG report of that product.
      HessianVectorProductCg: CgReport option
      /// The sharp distance ⟨P, C⟩, when asked for.
      Sharp: float option }

/// Many independent problems (sizes may differ) solved on all cores: one problem per worker, so each
/// small problem runs its kernels single-threaded and without hand-off costs. On a batching backend (CUDA) with plain
/// Sinkhorn updates the solves run in lockstep instead, each half-step of all problems one batched call.
module Batch =
    /// What `request` asks for of problem i's plan.
    let private derive (opts: SinkhornOptions) (request: BatchRequest) (i: int) (plan: SolvedPlan) =
        let hvp = request.HvpDirections |> Option.map (fun dirs -> HessianOperator(plan, { request.Cg with Cancellation = opts.Cancellation }).Apply dirs.[i])
        { Solution = plan.Solution
          Gradient = if request.Gradients then Some(Gradients.eot plan) else None
          Hessian = if request.Hessians then Some (Hessian.compute plan { HessianOptions.Default with Method = Schur; Cancellation = opts.Cancellation }).Hessian else None
          HessianVectorProduct = hvp |> Option.map fst
          HessianVectorProductCg = hvp |> Option.map snd
          Sharp = if request.SharpValues then Some (Values.sharp plan) else None }

    let private one (backend: IBackend) (opts: SinkhornOptions) (request: BatchRequest) (i: int) (problem: OtProblem) =
        // Progress reports say which problem they are about.
        let opts = { opts with Progress = opts.Progress |> Option.map (fun report -> fun p -> report { p with ProblemIndex = i }) }
        use plan = Sinkhorn.solve backend problem opts
        derive opts request i plan

    /// The batching backend, when the batch can run in lockstep on it: plain updates, at least two problems, every
    /// one a balanced point cloud it supports, all of one dimension (a relaxed problem's shrunk updates run one by one).
    let private lockstepOn (backend: IBackend) (problems: OtProblem[]) (opts: SinkhornOptions) =
        match backend with
        | :? IBatchingBackend as batching when Lockstep.isLockstep opts && problems.Length > 1 ->
            let pointClouds = problems |> Array.forall (fun p -> p.Relaxation.IsBalanced && (match p.Geometry with PointClouds _ -> true | CostMatrix _ | CloudsWithCost _ -> false))
            if pointClouds && problems |> Array.forall (fun p -> backend.Supports p = Supported && p.X.Cols = problems.[0].X.Cols)
            then Some batching else None
        | _ -> None

    /// Runs `work i` for every problem in parallel on the capped pool, each result or the exception it failed with.
    let private eachInParallel (count: int) (cancellation: Threading.CancellationToken) (work: int -> BatchItem) =
        let results = Array.create count (Error (OperationCanceledException() :> exn))
        try
            Parallel.For(0, count, Parallelism.options cancellation, fun i ->
                try results.[i] <- Ok (work i)
                with
                | :? OperationCanceledException when cancellation.IsCancellationRequested -> ()
                | e -> results.[i] <- Error e)
            |> ignore
        with :? OperationCanceledException when cancellation.IsCancellationRequested -> ()
        cancellation.ThrowIfCancellationRequested()
        results

    /// Every problem solved in parallel with the same options, computing what `request` asks for: each problem's
    /// result, or the exception it failed with (a failure does not stop the others). Cancellation raises.
    let attempt (backend: IBackend) (problems: OtProblem[]) (opts: SinkhornOptions) (request: BatchRequest) =
        if isNull problems then raise (ArgumentNullException "problems")
        if backend :? ICollectiveBackend then
            raise (NotSupportedException (sprintf "A batch on the %s backend would call its collectives from several threads at once: spread the batch across the ranks with MpiBatch.solve (MpiSession.SolveBatch) instead." backend.Name))
        request.HvpDirections |> Option.iter (fun dirs ->
            if dirs.Length <> problems.Length then
                raise (ArgumentException(sprintf "%d HVP directions for %d problems: give one per problem." dirs.Length problems.Length, "request")))
        match lockstepOn backend problems opts with
        | Some batching ->
            let plans = Lockstep.solveLockstep backend batching problems opts
            try
                let derived = eachInParallel problems.Length opts.Cancellation (fun i ->
                    match plans.[i] with
                    | Ok plan -> derive opts request i plan
                    | Error e -> raise e)
                // A problem whose solve failed keeps its own exception, not the rethrown copy's stack.
                Array.init problems.Length (fun i -> match plans.[i] with Error e -> Error e | Ok _ -> derived.[i])
            finally
                for plan in plans do (match plan with Ok p -> (p :> IDisposable).Dispose() | Error _ -> ())
        | None -> eachInParallel problems.Length opts.Cancellation (fun i -> one backend opts request i problems.[i])

    /// The results in problem order, or BatchProblemException naming the first failed problem.
    let collect (outcomes: Result<BatchItem, exn>[]) =
        outcomes |> Array.mapi (fun i outcome ->
            match outcome with
            | Ok item -> item
            | Error e -> raise (BatchProblemException(i, e)))

    /// Solves every problem with the same options and computes what `request` asks for, in parallel.
    /// Results are in the order of the problems; a failure raises BatchProblemException naming the first failed
    /// problem (the others still run to the end, nothing hangs).
    let solve (backend: IBackend) (problems: OtProblem[]) (opts: SinkhornOptions) (request: BatchRequest) =
        attempt backend problems opts request |> collect
