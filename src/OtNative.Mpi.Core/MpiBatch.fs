namespace OtNative.Core

open System
open System.Text
open OtNative

/// A batch split across the ranks of an MPI communicator (docs/distributed.md): every rank holds every problem, solves the
/// ones assigned to it on its local backend (`Batch.attempt`, all its cores), and rank 0 gathers the results in
/// problem order. A failed problem travels as its message, so the other ranks and problems finish and nothing hangs.
module MpiBatch =
    /// Longest-first greedy assignment of problems (their work, e.g. n·m) to ranks: each next-largest problem goes to
    /// the least-loaded rank, so that the ranks finish together. The same on every rank (ties by index).
    let assign (work: float[]) (ranks: int) =
        let owner = Array.zeroCreate work.Length
        let load = Array.zeroCreate ranks
        for i in Array.init work.Length id |> Array.sortBy (fun i -> -work.[i], i) do
            let r = Array.IndexOf(load, Array.min load)
            owner.[i] <- r
            load.[r] <- load.[r] + work.[i]
        owner

    let private flag b = if b then 1.0 else 0.0

    /// One outcome as doubles: a header, then F, G and the requested derivatives' entries (their shapes follow from
    /// the problem and the header's flags); a failure is a zero then its message's UTF-8 bytes.
    let private encode (outcome: Result<BatchItem, exn>) =
        match outcome with
        | Error e ->
            let bytes = Encoding.UTF8.GetBytes(e.Message)
            Array.append [| 0.0; float bytes.Length |] (bytes |> Array.map float)
        | Ok item ->
            let s = item.Solution
            let cg = item.HessianVectorProductCg
            let entries (m: Matrix option) = m |> Option.map (fun m -> m.Data) |> Option.defaultValue [||]
            Array.concat
                [ [| 1.0; s.Epsilon; s.Value; float s.Iterations; s.MarginalError; flag s.Converged; float s.Passes
                     (match s.SwitchedToLbfgsAt with Some k -> float k | None -> -1.0); s.Elapsed.TotalSeconds
                     flag item.Gradient.IsSome; flag item.Hessian.IsSome; flag item.HessianVectorProduct.IsSome
                     (match cg with Some r -> float r.Iterations | None -> 0.0); (match cg with Some r -> r.Residual | None -> 0.0)
                     (match cg with Some r -> flag r.Converged | None -> 0.0); float s.MixedIterations
                     flag item.Sharp.IsSome; Option.defaultValue 0.0 item.Sharp |]
                  s.F; s.G; entries item.Gradient; entries item.Hessian; entries item.HessianVectorProduct ]

    let private headerLength = 18

    /// The outcome `encode` wrote at `offset` for `problem`, and the offset after it.
    let private decode (problem: OtProblem) (data: float[]) (offset: int) =
        if data.[offset] = 0.0 then
            let length = int data.[offset + 1]
            let message = Encoding.UTF8.GetString(Array.init length (fun t -> byte data.[offset + 2 + t]))
            Error (OtNativeException message :> exn), offset + 2 + length
        else
            let h t = data.[offset + t]
            let mutable at = offset + headerLength
            let take count =
                let part = Array.sub data at count
                at <- at + count
                part
            let nd = problem.N * problem.X.Cols
            let f = take problem.N
            let g = take problem.M
            let matrixIf present rows cols = if present then Some (Matrix(rows, cols, take (rows * cols))) else None
            let gradient = matrixIf (h 9 = 1.0) problem.N problem.X.Cols
            let hessian = matrixIf (h 10 = 1.0) nd nd
            let hvp = matrixIf (h 11 = 1.0) problem.N problem.X.Cols
            let solution =
                { F = f; G = g; Epsilon = h 1; Value = h 2; Iterations = int (h 3); MarginalError = h 4; Converged = h 5 = 1.0
                  Passes = int (h 6); SwitchedToLbfgsAt = (if h 7 < 0.0 then None else Some (int (h 7)))
                  Elapsed = TimeSpan.FromSeconds(h 8); MixedIterations = int (h 15) }
            let cg = hvp |> Option.map (fun _ -> { Iterations = int (h 12); Residual = h 13; Converged = h 14 = 1.0 })
            Ok { Solution = solution; Gradient = gradient; Hessian = hessian; HessianVectorProduct = hvp; HessianVectorProductCg = cg
                 Sharp = if h 16 = 1.0 then Some (h 17) else None }, at

    /// Every problem's outcome, in problem order, on rank 0; an empty array on the other ranks. Every rank must call
    /// it with the same problems, options and request.
    let attempt (communicator: MPI.Intracommunicator) (local: IBackend) (problems: OtProblem[]) (opts: SinkhornOptions) (request: BatchRequest) =
        if isNull problems then raise (ArgumentNullException "problems")
        let owner = assign (problems |> Array.map (fun p -> float p.N * float p.M)) communicator.Size
        let mine = [| for i in 0 .. problems.Length - 1 do if owner.[i] = communicator.Rank then yield i |]
        let subRequest = { request with HvpDirections = request.HvpDirections |> Option.map (fun dirs -> mine |> Array.map (fun i -> dirs.[i])) }
        let outcomes = Batch.attempt local (mine |> Array.map (fun i -> problems.[i])) opts subRequest
        let encoded = outcomes |> Array.collect encode
        let lengths = communicator.Allgather(encoded.Length)
        let mutable gathered = Array.zeroCreate (if communicator.Rank = 0 then Array.sum lengths else 0)
        communicator.GatherFlattened(encoded, lengths, 0, &gathered)
        if communicator.Rank <> 0 then [||]
        else
            let results = Array.zeroCreate problems.Length
            let mutable offset = 0
            for r in 0 .. communicator.Size - 1 do
                for i in 0 .. problems.Length - 1 do
                    if owner.[i] = r then
                        let outcome, next = decode problems.[i] gathered offset
                        results.[i] <- outcome
                        offset <- next
            results

    /// Rank 0: the results in problem order, or BatchProblemException naming the first failed problem; the other
    /// ranks: an empty array.
    let solve (communicator: MPI.Intracommunicator) (local: IBackend) (problems: OtProblem[]) (opts: SinkhornOptions) (request: BatchRequest) =
        attempt communicator local problems opts request |> Batch.collect
