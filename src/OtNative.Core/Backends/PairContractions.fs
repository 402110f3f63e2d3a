namespace OtNative.Core

open System.Threading.Tasks

/// The semantics of `IPairContractions`, computed pair by pair on the host the way the CUDA kernels do (the
/// difference formed per pair, the plan entry from the potentials): what a backend's own kernels are tested against.
module PairContractions =
    /// Visits every pair (i, j) of row i, rows in parallel: visit i j p_ij diff, diff = x_i − y_j (reused buffer).
    let private eachPair (problem: OtProblem) (eps: float) (f: float[]) (g: float[]) (visit: int -> int -> float -> float[] -> unit) =
        let x, y = problem.X, problem.Y
        let d = x.Cols
        Parallel.For(0, problem.N, Parallelism.capped, fun i ->
            let diff = Array.zeroCreate d
            for j in 0 .. problem.M - 1 do
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
                eachPair problem eps f g (fun i j p diff ->
                    for c in 0 .. k - 1 do
                        let pw = p * w.[j, c]
                        out.[i, c * (d + 1)] <- out.[i, c * (d + 1)] + pw
                        for q in 0 .. d - 1 do out.[i, c * (d + 1) + 1 + q] <- out.[i, c * (d + 1) + 1 + q] + pw * diff.[q])
                out
            member _.DotCols(eps, f, g, v) =
                let k = v.Cols / d
                // Column sums: each row's terms are summed on its own first, then added in row order (deterministic).
                let perRow = Array.init n (fun _ -> Array.zeroCreate (m * k))
                eachPair problem eps f g (fun i j p diff ->
                    for c in 0 .. k - 1 do
                        let mutable t = 0.0
                        for q in 0 .. d - 1 do t <- t + diff.[q] * v.[i, c * d + q]
                        perRow.[i].[j * k + c] <- p * t)
                Matrix(m, k, Array.init (m * k) (fun t -> Array.sumBy (fun (row: float[]) -> row.[t]) perRow))
            member _.OuterRows(eps, f, g, a) =
                let k = a.Cols / d
                let out = Matrix.Zeros(n, k * d)
                eachPair problem eps f g (fun i _ p diff ->
                    for c in 0 .. k - 1 do
                        let mutable t = 0.0
                        for q in 0 .. d - 1 do t <- t + diff.[q] * a.[i, c * d + q]
                        for q in 0 .. d - 1 do out.[i, c * d + q] <- out.[i, c * d + q] + p * t * diff.[q])
                out
            member _.RBlock(eps, f, g, gOverR, scale) =
                let out = Matrix.Zeros(m, n * d)
                eachPair problem eps f g (fun i j p diff ->
                    for q in 0 .. d - 1 do out.[j, i * d + q] <- scale * p * (2.0 * diff.[q] - gOverR.[i * d + q]))
                out }
