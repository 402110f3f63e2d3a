namespace OtNative.Core

open System

/// The contiguous block of source rows each rank of a distributed problem owns, balanced by count.
module RowPartition =
    /// Rows [first, last) of n that rank `rank` of `ranks` owns.
    let bounds n ranks rank = n * rank / ranks, n * (rank + 1) / ranks

    /// How many rows each rank owns.
    let counts n ranks = Array.init ranks (fun r -> let first, last = bounds n ranks r in last - first)

/// What the distributed operators of one backend have communicated: collectives called and the doubles each rank
/// contributed to them (its payload; the network bytes follow from the MPI library's algorithms, docs/distributed.md).
[<Sealed>]
type MpiTraffic() =
    let mutable collectives = 0L
    let mutable doubles = 0L
    member _.Collectives = collectives
    member _.Doubles = doubles
    member internal _.Add(count: int) =
        collectives <- collectives + 1L
        doubles <- doubles + int64 count
    /// Starts counting afresh.
    member _.Reset() =
        collectives <- 0L
        doubles <- 0L

/// A problem split by the rows of x across the ranks of an MPI communicator (docs/distributed.md). Each rank holds its slice
/// of x and a (renormalised, its mass folded into f) on a local backend and streams all of y. Potentials stay whole
/// on every rank: the f-update is local and its slices are gathered (n doubles a half-step); the g-update combines
/// the ranks' partial column log-sum-exps by two Allreduces of m doubles (their max, then their rescaled sums).
/// Every rank must call the primitives in the same order, from one thread: they are collective.
[<Sealed>]
type internal MpiTransportOperator(problem: OtProblem, backend: IBackend, comm: MPI.Intracommunicator, local: IBackend, traffic: MpiTraffic) =
    let first, last = RowPartition.bounds problem.N comm.Size comm.Rank
    let rowCounts = RowPartition.counts problem.N comm.Size
    let mass = Seq.sum (seq { for i in first .. last - 1 -> problem.A.[i] })
    let logMass = log mass
    /// This rank's rows of a matrix with one row per source point.
    let rowsOf (z: Matrix) = Matrix(last - first, z.Cols, z.Data.[first * z.Cols .. last * z.Cols - 1])
    let slice =
        if last = first then None
        else
            let a = Array.init (last - first) (fun t -> problem.A.[first + t] / mass)
            let part =
                match problem.Geometry with
                | PointClouds (x, y) -> OtProblem.create (rowsOf x) y (Some a) (Some problem.B)
                | CostMatrix c -> OtProblem.ofCost (rowsOf c) (Some a) (Some problem.B)
                | CloudsWithCost (x, y, cost) -> OtProblem.create (rowsOf x) y (Some a) (Some problem.B) |> OtProblem.withCost cost
            Some (local.Prepare part)

    /// This rank's rows of f with its slice's mass folded in: ã_i exp(f̃_i/ε) = a_i exp(f_i/ε).
    let localF (eps: float) (f: float[]) = Array.init (last - first) (fun t -> f.[first + t] + eps * logMass)

    /// Every rank's rows (width values each) concatenated in rank order, on every rank.
    let gatherRows (mine: float[]) width =
        traffic.Add mine.Length
        let mutable all = Array.zeroCreate (problem.N * width)
        comm.AllgatherFlattened(mine, rowCounts |> Array.map (fun c -> c * width), &all)
        all

    /// One half-step across the ranks, each rank's slice by `step` (its float64 or its mixed-precision half-step).
    let halfStep (step: ITransportOperator -> Side -> float -> float[] -> float[] -> Threading.CancellationToken -> unit)
                 side eps (other: float[]) (result: float[]) cancellation =
        match side with
        | Rows ->
            let mine = Array.sub result first (last - first)
            slice |> Option.iter (fun op -> step op Rows eps other mine cancellation)
            Array.blit (gatherRows mine 1) 0 result 0 problem.N
        | Cols ->
            // This rank's −LSE_i/ε over its rows (−∞ without rows), then the ranks' log-sum-exp of those.
            let exponent =
                match slice with
                | Some op ->
                    // The incoming g is the shift this rank's one-pass sums start from (within ε·log of its share of
                    // each column's mass; a column too far off is summed exactly).
                    let partial = Array.copy result
                    step op Cols eps (localF eps other) partial cancellation
                    partial |> Array.map (fun v -> -v / eps)
                | None -> Array.create problem.M -infinity
            traffic.Add problem.M
            let top = comm.Allreduce(exponent, MPI.Operation<float>.Max)
            let scaled = Array.map2 (fun e t -> exp (e - t)) exponent top
            traffic.Add problem.M
            let total = comm.Allreduce(scaled, MPI.Operation<float>.Add)
            for j in 0 .. problem.M - 1 do result.[j] <- -eps * (top.[j] + log total.[j])

    interface ITransportOperator with
        member _.Problem = problem
        member _.Backend = backend

        member _.Softmin(side, eps, other, result, cancellation) =
            halfStep (fun op s e o r c -> op.Softmin(s, e, o, r, c)) side eps other result cancellation

        member _.Apply(side, eps, f, g, v, costWeighted) =
            match side with
            | Rows ->
                let mine = match slice with Some op -> (op.Apply(Rows, eps, localF eps f, g, v, costWeighted)).Data | None -> [||]
                Matrix(problem.N, v.Cols, gatherRows mine v.Cols)
            | Cols ->
                Validation.shape "v" problem.N v.Cols v
                let mine =
                    match slice with
                    | Some op -> (op.Apply(Cols, eps, localF eps f, g, rowsOf v, costWeighted)).Data
                    | None -> Array.zeroCreate (problem.M * v.Cols)
                traffic.Add mine.Length
                Matrix(problem.M, v.Cols, comm.Allreduce(mine, MPI.Operation<float>.Add))

        member _.Plan(eps, f, g) =
            let mine = match slice with Some op -> (op.Plan(eps, localF eps f, g)).Data | None -> [||]
            Matrix(problem.N, problem.M, gatherRows mine problem.M)

        member _.Dispose() = slice |> Option.iter (fun op -> op.Dispose())

    interface IMixedHalfStep with
        // Only called where `Worthwhile` holds, so every slice is a CPU operator's.
        member _.SoftminMixed(side, eps, other, result, cancellation) =
            halfStep (fun op s e o r c -> (op :?> IMixedHalfStep).SoftminMixed(s, e, o, r, c)) side eps other result cancellation
        // Decided from the whole problem, so that every rank (one without rows too) runs the same sweeps.
        member _.Worthwhile = (match local with :? CpuBackend -> true | _ -> false) && CpuKernels.mixedWorthwhile problem.N problem.M

/// The distributed backend: a problem's rows split across the ranks of `communicator`, each rank's slice on `local`
/// (docs/distributed.md). Solvers, gradients, values and the HVP operator run unchanged on top, replicated on every rank; the
/// dense linear algebra is `local`'s, also replicated. Start MPI first (`MpiSession.Start`, OtNative.Mpi).
[<Sealed>]
type MpiBackend(communicator: MPI.Intracommunicator, local: IBackend) =
    let traffic = MpiTraffic()

    /// The world communicator's ranks, each on the CPU backend.
    static member World() = MpiBackend(MPI.Communicator.world, CpuBackend.Instance)

    /// This process's rank and the communicator's size.
    member _.Rank = communicator.Rank
    member _.Size = communicator.Size

    /// What this backend's operators have communicated so far.
    member _.Traffic = traffic

    interface IBackend with
        member _.Name = "mpi"
        member _.IsAvailable = true
        member _.Description = sprintf "MPI, %d ranks (this is rank %d), rows of x split across them; each rank: %s" communicator.Size communicator.Rank local.Description
        member _.LinearAlgebra = local.LinearAlgebra
        member _.Supports problem = local.Supports problem
        member this.Prepare problem = new MpiTransportOperator(problem, this, communicator, local, traffic) :> ITransportOperator

    interface ICollectiveBackend
