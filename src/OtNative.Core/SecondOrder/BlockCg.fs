namespace OtNative.Core

open System

/// What a CG solve did (the worst column of a block solve).
type CgReport =
    { Iterations: int
      /// Final relative residual.
      Residual: float
      Converged: bool }

    /// The worse of two solves' reports: an unconverged one, else the larger residual.
    static member Worse(u: CgReport, v: CgReport) =
        if u.Converged <> v.Converged then (if u.Converged then v else u)
        elif u.Residual >= v.Residual then u
        else v

/// The outcome of a block CG solve, column by column.
type BlockCgResult =
    { Solutions: float[][]
      Iterations: int[]
      /// Final relative residual of each column (0 for a right-hand side treated as zero).
      Residuals: float[] }

    /// The worst column, judged against the tolerance the solve ran with.
    member r.Report(tolerance: float) =
        let worst = if r.Residuals.Length = 0 then 0.0 else Array.max r.Residuals
        { Iterations = (if r.Iterations.Length = 0 then 0 else Array.max r.Iterations); Residual = worst; Converged = worst <= tolerance }

/// Preconditioned conjugate gradients for several right-hand sides at once. Each column keeps its own step
/// sizes and stops on its own relative residual; the operator is applied to all live columns in one call,
/// so a streamed operator shares each pass (its exponentials) among them.
module BlockCg =
    /// Solves A z = b for each column b of `rhs`. `apply` and `precondition` map the live columns to A·d and
    /// M⁻¹·r; `project` keeps iterates in A's range (identity when A is non-singular). A right-hand side whose
    /// norm after projection is at most `zeroBelow.[c]` is treated as zero and gets z = 0 (the caller's
    /// rounding level: such a column lies in A's numerical null space). A direction of zero or negative
    /// curvature stops its column with the residual reported, never an infinite step.
    /// `cancellation` is checked before every iteration.
    let solve (apply: float[][] -> float[][]) (precondition: float[][] -> float[][]) (project: float[] -> unit)
              (rhs: float[][]) (zeroBelow: float[]) (tolerance: float) (maxIterations: int) (cancellation: Threading.CancellationToken) =
        let k = rhs.Length
        let res = Array.map Array.copy rhs
        Array.iter project res
        let size = if k = 0 then 0 else res.[0].Length
        let bNorm = res |> Array.mapi (fun c v -> let norm = sqrt (Dense.dot v v) in if norm <= zeroBelow.[c] then 0.0 else norm)
        let z = Array.init k (fun _ -> Array.zeroCreate size)
        let rel = bNorm |> Array.map (fun v -> if v = 0.0 then 0.0 else 1.0)
        let stalled = Array.zeroCreate k
        let iterations = Array.zeroCreate k
        let active () = [| for c in 0 .. k - 1 do if rel.[c] > tolerance && iterations.[c] < maxIterations && not stalled.[c] then yield c |]
        let dir = Array.zeroCreate k
        let rz = Array.zeroCreate k
        let mutable live = active ()
        if live.Length > 0 then
            let p0 = precondition (live |> Array.map (fun c -> res.[c]))
            live |> Array.iteri (fun i c -> dir.[c] <- Array.copy p0.[i]; rz.[c] <- Dense.dot res.[c] p0.[i])
        while live.Length > 0 do
            cancellation.ThrowIfCancellationRequested()
            let ad = apply (live |> Array.map (fun c -> dir.[c]))
            live |> Array.iteri (fun i c ->
                let curvature = Dense.dot dir.[c] ad.[i]
                let alpha = rz.[c] / curvature
                if not (curvature > 0.0 && Double.IsFinite alpha) then stalled.[c] <- true
                else
                    for j in 0 .. size - 1 do
                        z.[c].[j] <- z.[c].[j] + alpha * dir.[c].[j]
                        res.[c].[j] <- res.[c].[j] - alpha * ad.[i].[j]
                    project res.[c]
                    rel.[c] <- sqrt (Dense.dot res.[c] res.[c]) / bNorm.[c]
                    iterations.[c] <- iterations.[c] + 1)
            live <- active ()
            if live.Length > 0 then
                let next = precondition (live |> Array.map (fun c -> res.[c]))
                live |> Array.iteri (fun i c ->
                    let rzNext = Dense.dot res.[c] next.[i]
                    let beta = rzNext / rz.[c]
                    rz.[c] <- rzNext
                    for j in 0 .. size - 1 do dir.[c].[j] <- next.[i].[j] + beta * dir.[c].[j])
        { Solutions = z; Iterations = iterations; Residuals = rel }
