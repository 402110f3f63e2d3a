namespace OtNative.Core

open System
open System.Threading.Tasks

/// The semantics of `IPairContractions`, computed pair by pair on the host the way the CUDA kernels do (the
/// difference formed per pair, the plan entry from the potentials): what a backend's own kernels are tested against.
module PairContractions =
    /// Visits every pair once: visit i j p_ij c_ij terms, with terms[0 … d) = h = ∇ₓc(x_i, y_j)/2 — x_i − y_j for the
    /// squared Euclidean cost — and, when `withHessian`, terms[d + q·d + e] = ∇²ₓc(x_i, y_j)_qe (else untouched), a reused
    /// buffer (one array, so the visitor takes five arguments: F# calls a closure of six through a partial application,
    /// an allocation per pair). The rows (or, `byColumns`, the columns) run in parallel, so a visitor may write what
    /// belongs to its row (column) without a lock.
    let private eachPair (problem: OtProblem) (eps: float) (f: float[]) (g: float[]) (byColumns: bool) (withHessian: bool)
                         (visit: int -> int -> float -> float -> float[] -> unit) =
        let x, y = problem.X, problem.Y
        let d = x.Cols
        let general = problem.PairCost
        let outer, inner = if byColumns then problem.M, problem.N else problem.N, problem.M
        Parallelism.run (fun () -> Parallel.For(0, outer, Parallelism.capped (), fun o ->
            let terms = Array.zeroCreate (d + d * d)
            let half = Span(terms, 0, d)
            let hess = Span(terms, d, d * d)
            for t in 0 .. inner - 1 do
                let i, j = if byColumns then t, o else o, t
                let cost =
                    match general with
                    | None ->
                        let mutable cost = 0.0
                        for q in 0 .. d - 1 do
                            half.[q] <- x.[i, q] - y.[j, q]
                            cost <- cost + half.[q] * half.[q]
                        // ∇²c = 2I: the off-diagonal entries stay the buffer's zeros.
                        if withHessian then
                            for q in 0 .. d - 1 do hess.[q * d + q] <- 2.0
                        cost
                    | Some (:? DistancePower as power) ->
                        let xi = ReadOnlySpan(x.Data, i * d, d)
                        let yj = ReadOnlySpan(y.Data, j * d, d)
                        if withHessian then (power :> IPairCost).Hessian(xi, yj, hess)
                        power.ValueAndHalfGradient(xi, yj, half)
                    | Some c ->
                        let xi = ReadOnlySpan(x.Data, i * d, d)
                        let yj = ReadOnlySpan(y.Data, j * d, d)
                        c.Gradient(xi, yj, half)
                        for q in 0 .. d - 1 do half.[q] <- 0.5 * half.[q]
                        if withHessian then c.Hessian(xi, yj, hess)
                        c.Value(xi, yj)
                visit i j (problem.A.[i] * problem.B.[j] * exp ((f.[i] + g.[j] - cost) / eps)) cost terms))

    /// For directions a_·,c (k of them, a is n × k·d, or m × k·d when `ofColumns`: the column point's direction a_j,c in
    /// place of the row's own a_i,c): Σ_j P_ij (outerWeight h_ij (h_ij · a_c) + curvatureWeight ∇²c_ij a_c).
    let private rowProducts (problem: OtProblem) eps f g (a: Matrix) (ofColumns: bool) (outerWeight: float) (curvatureWeight: float) =
        let n, d = problem.N, problem.X.Cols
        let k = a.Cols / d
        let out = Matrix.Zeros(n, k * d)
        eachPair problem eps f g false (curvatureWeight <> 0.0) (fun i j p _ terms ->
            let at = if ofColumns then j else i
            for c in 0 .. k - 1 do
                let mutable t = 0.0
                for q in 0 .. d - 1 do t <- t + terms.[q] * a.[at, c * d + q]
                for q in 0 .. d - 1 do
                    let mutable curved = 0.0
                    if curvatureWeight <> 0.0 then
                        for e in 0 .. d - 1 do curved <- curved + terms.[d + q * d + e] * a.[at, c * d + e]
                    out.[i, c * d + q] <- out.[i, c * d + q] + p * (outerWeight * t * terms.[q] + curvatureWeight * curved))
        out

    /// The reference contractions of a point-cloud problem, and under a cost other than the squared Euclidean one the
    /// CPU's: its plans have no moment formulas (math.md §10).
    let reference (problem: OtProblem) =
        let n, m, d = problem.N, problem.M, problem.X.Cols
        { new IPairContractions with
            member _.ContractRows(eps, f, g, w) =
                let k = w.Cols
                let out = Matrix.Zeros(n, k * (d + 1))
                eachPair problem eps f g false false (fun i j p _ diff ->
                    for c in 0 .. k - 1 do
                        let pw = p * w.[j, c]
                        out.[i, c * (d + 1)] <- out.[i, c * (d + 1)] + pw
                        for q in 0 .. d - 1 do out.[i, c * (d + 1) + 1 + q] <- out.[i, c * (d + 1) + 1 + q] + pw * diff.[q])
                out
            member _.DotCols(eps, f, g, v) =
                let k = v.Cols / d
                let out = Matrix.Zeros(m, k)
                eachPair problem eps f g true false (fun i j p _ diff ->
                    for c in 0 .. k - 1 do
                        let mutable t = 0.0
                        for q in 0 .. d - 1 do t <- t + diff.[q] * v.[i, c * d + q]
                        out.[j, c] <- out.[j, c] + p * t)
                out
            member _.OuterRows(eps, f, g, a) = rowProducts problem eps f g a false 1.0 0.0
            member _.RBlock(eps, f, g, gOverR, scale) =
                let out = Matrix.Zeros(m, n * d)
                eachPair problem eps f g true false (fun i j p _ diff ->
                    for q in 0 .. d - 1 do out.[j, i * d + q] <- scale * p * (2.0 * diff.[q] - gOverR.[i * d + q]))
                out
          interface ICostContractions with
            member _.CurvatureRows(eps, f, g, a) = rowProducts problem eps f g a false 0.0 1.0
            member _.MixedRows(eps, f, g, b) = rowProducts problem eps f g b true (4.0 / eps) -1.0
            member _.CostWeightedRows(eps, f, g) =
                let out = Matrix.Zeros(n, d)
                eachPair problem eps f g false false (fun i _ p cost half ->
                    for q in 0 .. d - 1 do out.[i, q] <- out.[i, q] + 2.0 * p * cost * half.[q])
                out }

    /// The contractions a solved plan's derivatives use: its operator's own kernels (CUDA), or for a cost other than the
    /// squared Euclidean one the reference's (the CPU has no moment formulas for it); None where the moments serve.
    let ofOperator (operator: ITransportOperator) =
        match operator with
        | :? IPairContractions as own -> Some own
        | _ when operator.Problem.PairCost.IsSome -> Some (reference operator.Problem)
        | _ -> None

    /// The curvature and cost-weighted contractions of a problem under a cost other than the squared Euclidean one.
    let costTermsOf (problem: OtProblem) =
        match problem.PairCost with
        | Some _ -> Some (reference problem :?> ICostContractions)
        | None -> None
