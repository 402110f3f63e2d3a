namespace OtNative.Core

open System.Threading.Tasks

/// The semantics of `IPairContractions`, computed pair by pair on the host the way the CUDA kernels do (the
/// difference formed per pair, the plan entry from the potentials): what a backend's own kernels are tested against.
module PairContractions =
    /// Visits every pair once: visit i j p_ij diff, diff = x_i − y_j (a reused buffer). The rows (or, `byColumns`, the
    /// columns) run in parallel, so a visitor may write what belongs to its row (column) without a lock.
    let private eachPair (problem: OtProblem) (eps: float) (f: float[]) (g: float[]) (byColumns: bool) (visit: int -> int -> float -> float[] -> unit) =
        let x, y = problem.X, problem.Y
        let d = x.Cols
        let outer, inner = if byColumns then problem.M, problem.N else problem.N, problem.M
        Parallel.For(0, outer, Parallelism.capped (), fun o ->
            let diff = Array.zeroCreate d
            for t in 0 .. inner - 1 do
                let i, j = if byColumns then t, o else o, t
                let mutable cost = 0.0
                for q in 0 .. d - 1 do
                    diff.[q] <- x.[i, q] - y.[j, q]
                    cost <- cost + diff.[q] * diff.[q]
                visit i j (problem.A.[i] * problem.B.[j] * exp ((f.[i] + g.[j] - cost) / eps)) diff)
        |> ignore

    /// The reference contractions of a point-cloud problem.
    let reference (problem: OtProblem) =
        let n, m, d = problem.N, problem.M, problem.X.Cols
        { new IPairContractions with
            member _.ContractRows(eps, f, g, w) =
                let k = w.Cols
                let out = Matrix.Zeros(n, k * (d + 1))
                eachPair problem eps f g false (fun i j p diff ->
                    for c in 0 .. k - 1 do
                        let pw = p * w.[j, c]
                        out.[i, c * (d + 1)] <- out.[i, c * (d + 1)] + pw
                        for q in 0 .. d - 1 do out.[i, c * (d + 1) + 1 + q] <- out.[i, c * (d + 1) + 1 + q] + pw * diff.[q])
                out
            member _.DotCols(eps, f, g, v) =
                let k = v.Cols / d
                let out = Matrix.Zeros(m, k)
                eachPair problem eps f g true (fun i j p diff ->
                    for c in 0 .. k - 1 do
                        let mutable t = 0.0
                        for q in 0 .. d - 1 do t <- t + diff.[q] * v.[i, c * d + q]
                        out.[j, c] <- out.[j, c] + p * t)
                out
            member _.OuterRows(eps, f, g, a) =
                let k = a.Cols / d
                let out = Matrix.Zeros(n, k * d)
                eachPair problem eps f g false (fun i _ p diff ->
                    for c in 0 .. k - 1 do
                        let mutable t = 0.0
                        for q in 0 .. d - 1 do t <- t + diff.[q] * a.[i, c * d + q]
                        for q in 0 .. d - 1 do out.[i, c * d + q] <- out.[i, c * d + q] + p * t * diff.[q])
                out
            member _.RBlock(eps, f, g, gOverR, scale) =
                let out = Matrix.Zeros(m, n * d)
                eachPair problem eps f g true (fun i j p diff ->
                    for q in 0 .. d - 1 do out.[j, i * d + q] <- scale * p * (2.0 * diff.[q] - gOverR.[i * d + q]))
                out }
