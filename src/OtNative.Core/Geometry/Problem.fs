namespace OtNative.Core

open System

/// Where the ground cost comes from.
type Geometry =
    /// Two point clouds (one point per row, same dimension) with the squared Euclidean cost
    /// c(x, y) = ‖x − y‖² (no ½), evaluated on the fly.
    | PointClouds of x: Matrix * y: Matrix
    /// A user-given n×m cost matrix (materialised; for small problems or custom costs).
    | CostMatrix of cost: Matrix
    /// Two point clouds with a ground cost other than the squared Euclidean one (math.md §10), evaluated on the fly.
    | CloudsWithCost of x: Matrix * y: Matrix * cost: IPairCost

/// How strictly a problem imposes its marginals (math.md §9). Balanced (τ = ∞ on both sides, the default): P1 = a and
/// Pᵀ1 = b. Unbalanced: the constraints are replaced by penalties τ_a KL(P1 ‖ a) + τ_b KL(Pᵀ1 ‖ b), so mass may be
/// created or left untransported where moving it costs more than the penalty; one side may stay balanced.
type Relaxation =
    { /// τ_a > 0, the strength of the penalty on the row marginal (∞: P1 = a).
      TauA: float
      /// τ_b > 0, the strength of the penalty on the column marginal (∞: Pᵀ1 = b).
      TauB: float }

    /// Both marginals imposed.
    static member Balanced = { TauA = infinity; TauB = infinity }

    /// Whether both marginals are imposed.
    member r.IsBalanced = Double.IsPositiveInfinity r.TauA && Double.IsPositiveInfinity r.TauB

/// A validated discrete OT problem: source weights a (n), target weights b (m), a geometry and how the marginals are
/// imposed. Build it with `OtProblem.create` / `OtProblem.ofCost`, which check every input.
type OtProblem =
    { Geometry: Geometry
      A: float[]
      B: float[]
      Relaxation: Relaxation }

    member p.N = p.A.Length
    member p.M = p.B.Length

    /// The source cloud; fails for a cost-matrix problem.
    member p.X =
        match p.Geometry with
        | PointClouds (x, _) | CloudsWithCost (x, _, _) -> x
        | CostMatrix _ -> raise (System.NotSupportedException "This problem was given as a cost matrix: it has no point coordinates.")

    /// The target cloud; fails for a cost-matrix problem.
    member p.Y =
        match p.Geometry with
        | PointClouds (_, y) | CloudsWithCost (_, y, _) -> y
        | CostMatrix _ -> raise (System.NotSupportedException "This problem was given as a cost matrix: it has no point coordinates.")

    /// The ground cost of a point-cloud problem whose cost is not the squared Euclidean one.
    member p.PairCost =
        match p.Geometry with
        | CloudsWithCost (_, _, cost) -> Some cost
        | PointClouds _ | CostMatrix _ -> None

    /// Whether the problem has point coordinates (any ground cost).
    member p.HasPoints =
        match p.Geometry with
        | PointClouds _ | CloudsWithCost _ -> true
        | CostMatrix _ -> false

/// How ε is given.
type Epsilon =
    /// ε itself.
    | Absolute of float
    /// ε = scale · (weighted) mean cost Σ a_i b_j C_ij — the paper's protocol.
    | RelativeToMeanCost of scale: float

module OtProblem =
    let private uniform n = Array.create n (1.0 / float n)

    let private resolveWeights param n (w: float[] option) renormalise =
        match w with
        | None -> uniform n
        | Some w when renormalise ->
            Validation.finite param w
            // Signs first: dividing by a negative sum would turn all-negative weights into valid ones.
            let idx = Array.FindIndex(w, fun v -> v <= 0.0)
            if idx >= 0 then
                raise (System.ArgumentException(sprintf "%s must be strictly positive to be renormalised; entry %d is %g." param idx w.[idx], param))
            let total = Array.sum w
            let scaled = Array.map (fun v -> v / total) w
            Validation.weights param n scaled
            scaled
        | Some w ->
            Validation.weights param n w
            Array.copy w

    /// `createWith` with the names its errors give the two clouds (a batch says `problems[3].X`).
    let createNamed (xName: string) (yName: string) (x: Matrix) (y: Matrix) (a: float[] option) (b: float[] option) (renormalise: bool) =
        Validation.pointCloud xName x
        Validation.pointCloud yName y
        if x.Cols <> y.Cols then
            raise (System.ArgumentException(sprintf "%s has dimension %d but %s has dimension %d." yName y.Cols xName x.Cols, yName))
        { Geometry = PointClouds(x, y)
          A = resolveWeights "a" x.Rows a renormalise
          B = resolveWeights "b" y.Rows b renormalise
          Relaxation = Relaxation.Balanced }

    /// Point-cloud problem with the squared Euclidean cost. Missing weights are uniform;
    /// `renormalise` scales given positive weights to sum 1 instead of rejecting them.
    let createWith (x: Matrix) (y: Matrix) (a: float[] option) (b: float[] option) (renormalise: bool) =
        createNamed "x" "y" x y a b renormalise

    /// Point-cloud problem; weights must be positive and sum to one.
    let create x y a b = createWith x y a b false

    /// Problem from an n×m cost matrix (any finite real costs).
    let ofCost (cost: Matrix) (a: float[] option) (b: float[] option) =
        if isNull cost then raise (System.ArgumentNullException "cost")
        if cost.Rows = 0 || cost.Cols = 0 then
            raise (System.ArgumentException("cost is empty: it needs at least one row and one column.", "cost"))
        Validation.finiteMatrix "cost" cost
        { Geometry = CostMatrix cost
          A = resolveWeights "a" cost.Rows a false
          B = resolveWeights "b" cost.Cols b false
          Relaxation = Relaxation.Balanced }

    /// The problem with its marginals relaxed by KL penalties of strengths τ_a, τ_b (each > 0; ∞ keeps that side
    /// balanced).
    let relaxed (tauA: float) (tauB: float) (p: OtProblem) =
        let check name (tau: float) =
            if not (tau > 0.0) then
                raise (System.ArgumentException(sprintf "%s must be positive (∞ for a balanced side), got %g." name tau, name))
        check "TauA" tauA
        check "TauB" tauB
        { p with Relaxation = { TauA = tauA; TauB = tauB } }

    /// Visits the rows of a general cost's matrix, in parallel: visit i row with row = c(x_i, y_·) (a per-task buffer).
    /// Fails, naming the pair, where the cost gives a value that is not finite. A user's slow cost makes this pass as long
    /// as a half-step of its own: it stops between rows when `cancellation` is cancelled.
    let private eachCostRow (cancellation: System.Threading.CancellationToken) (x: Matrix) (y: Matrix) (cost: IPairCost) (visit: int -> float[] -> unit) =
        let d, m = x.Cols, y.Rows
        Parallelism.run (fun () ->
            System.Threading.Tasks.Parallel.For(0, x.Rows, Parallelism.options cancellation, (fun () -> Array.zeroCreate m), (fun i _ (row: float[]) ->
                cost.Row(System.ReadOnlySpan(x.Data, i * d, d), System.ReadOnlySpan(y.Data), System.Span row)
                let j = System.Array.FindIndex(row, fun v -> not (Double.IsFinite v))
                if j >= 0 then
                    raise (System.ArgumentException(sprintf "The ground cost %s gave c(x_%d, y_%d) = %g: costs must be finite." cost.Name i j row.[j], "cost"))
                visit i row
                row), ignore))

    /// The problem with the ground cost `cost` in place of the squared Euclidean one (a point-cloud problem).
    let withCost (cost: IPairCost) (p: OtProblem) =
        match p.Geometry with
        | PointClouds (x, y) -> { p with Geometry = CloudsWithCost(x, y, cost) }
        | CloudsWithCost _ | CostMatrix _ -> raise (System.ArgumentException("A ground cost applies to point clouds with the default cost; this problem has its own.", "cost"))

    /// `meanCost`, its pass over a general cost's pairs stopped by `cancellation`.
    let meanCostCancellable (cancellation: System.Threading.CancellationToken) (p: OtProblem) =
        match p.Geometry with
        | CloudsWithCost (x, y, cost) ->
            // Per-row sums, added in row order: the same value on any number of threads.
            let rowSums = Array.zeroCreate x.Rows
            eachCostRow cancellation x y cost (fun i row ->
                let mutable s = 0.0
                for j in 0 .. row.Length - 1 do s <- s + p.B.[j] * row.[j]
                rowSums.[i] <- p.A.[i] * s)
            Array.sum rowSums
        | PointClouds (x, y) ->
            let xm = Dense.weightedMeanRow x p.A
            let ym = Dense.weightedMeanRow y p.B
            let spread (z: Matrix) (w: float[]) (mean: float[]) =
                let mutable s = 0.0
                for i in 0 .. z.Rows - 1 do
                    for k in 0 .. z.Cols - 1 do
                        let t = z.[i, k] - mean.[k]
                        s <- s + w.[i] * t * t
                s
            let shift = Array.map2 (fun u v -> (u - v) * (u - v)) xm ym |> Array.sum
            spread x p.A xm + spread y p.B ym + shift
        | CostMatrix c ->
            let mutable s = 0.0
            for i in 0 .. c.Rows - 1 do
                for j in 0 .. c.Cols - 1 do
                    s <- s + p.A.[i] * p.B.[j] * c.[i, j]
            s

    /// Weighted mean cost Σ a_i b_j C_ij; O((n+m)d) for point clouds via
    /// Σa‖x‖² + Σb‖y‖² − 2 x̄·ȳ, computed after centring so it does not cancel; one pass over the pairs for another cost.
    let meanCost (p: OtProblem) = meanCostCancellable System.Threading.CancellationToken.None p

    /// The squared diagonal of the box holding both clouds: a bound on every squared distance, O((n+m)·d).
    let private squaredBoxDiagonal (x: Matrix) (y: Matrix) =
            let d = x.Cols
            let mutable total = 0.0
            for k in 0 .. d - 1 do
                let mutable lo = infinity
                let mutable hi = -infinity
                for z in [ x; y ] do
                    for i in 0 .. z.Rows - 1 do
                        lo <- min lo z.[i, k]
                        hi <- max hi z.[i, k]
                total <- total + (hi - lo) * (hi - lo)
            total

    /// `costBound`, its pass over a user's cost's pairs stopped by `cancellation`.
    let costBoundCancellable (cancellation: System.Threading.CancellationToken) (p: OtProblem) =
        match p.Geometry with
        | CloudsWithCost (x, y, (:? DistancePower as power)) -> squaredBoxDiagonal x y ** (0.5 * power.P)
        | CloudsWithCost (x, y, cost) ->
            let rowMax = Array.zeroCreate x.Rows
            eachCostRow cancellation x y cost (fun i row -> rowMax.[i] <- row |> Array.fold (fun acc v -> max acc (abs v)) 0.0)
            Array.max rowMax
        | PointClouds (x, y) -> squaredBoxDiagonal x y
        | CostMatrix c -> c.Data |> Array.fold (fun acc v -> max acc (abs v)) 0.0

    /// An upper bound on every |C_ij|: the squared diagonal of the box holding both clouds (to the power p/2 for a
    /// ‖x − y‖ᵖ cost), or max |C| (a cost matrix, and a user's cost, whose pairs are evaluated once for it).
    /// O((n+m)·d) for point clouds. Infinite when the coordinates are so large that squared distances overflow.
    let costBound (p: OtProblem) = costBoundCancellable System.Threading.CancellationToken.None p

    /// Below 2⁻³⁰ of the largest cost the exponents (g_j − C_ij)/ε exceed 10⁹ and the rounding of C itself
    /// (2⁻⁵³ relative) leaves the marginals with no correct digit at the default tolerance.
    let private resolvableRatio = 2.0 ** -30.0

    /// The smallest τ/ε a relaxed side takes (see `resolveEpsilon`).
    let private smallestTauRatio = 1e-200

    /// The smallest ε the log-domain solver can resolve for this problem's costs.
    let smallestUsableEpsilon (p: OtProblem) = resolvableRatio * costBound p

    /// `resolveEpsilon`, its passes over a user's cost's pairs stopped by `cancellation` (what a solve passes).
    let resolveEpsilonCancellable (cancellation: System.Threading.CancellationToken) (p: OtProblem) (eps: Epsilon) =
        // A user's cost is bounded by a pass over every pair: made once here for both uses.
        let bound = lazy (costBoundCancellable cancellation p)
        let e =
            match eps with
            | Absolute e ->
                Validation.positive "Epsilon" e
                e
            | RelativeToMeanCost s ->
                Validation.positive "Epsilon" s
                let mc = meanCostCancellable cancellation p
                // The mean cost of coincident points is rounding noise of the squared coordinates.
                let magnitude =
                    match p.Geometry with
                    | PointClouds (x, y) ->
                        let largestSquare (z: Matrix) = z.Data |> Array.fold (fun acc v -> max acc (v * v)) 0.0
                        float x.Cols * max (largestSquare x) (largestSquare y)
                    | CloudsWithCost _ | CostMatrix _ -> bound.Value
                if not (mc > 1e-24 * magnitude) then
                    let why =
                        match p.Geometry with
                        | PointClouds _ -> sprintf "the mean cost is %g, rounding noise of coordinates of size %g: all points coincide" mc (sqrt magnitude)
                        | CloudsWithCost _ | CostMatrix _ -> sprintf "the weighted mean cost is %g against a largest |cost| of %g" mc magnitude
                    raise (System.ArgumentException(sprintf "A relative ε needs a positive mean cost, but %s. Give ε absolutely." why, "Epsilon"))
                s * mc
        // Below the normal float64 numbers 1/ε overflows (coordinates near 1e-154 give a subnormal mean cost): the updates
        // would turn non-finite on the first step, which reads as a numerical failure when the input is what is wrong.
        if not (Double.IsNormal e) then
            raise (System.ArgumentException(
                sprintf "ε = %g is below what float64 resolves: it is not a normal float64 (at least 2.2e-308), so 1/ε overflows. Scale the coordinates (or costs) up, or give a larger ε." e, "Epsilon"))
        // A power of large distances can leave float64: the streamed rows would saturate where the tabulated ones overflow.
        match p.Geometry with
        | CloudsWithCost (_, _, cost) when not (Double.IsFinite bound.Value) ->
            raise (System.ArgumentException(
                sprintf "The %s costs of these clouds reach float64's largest value (their bound is %g): scale the coordinates down." cost.Name bound.Value, "cost"))
        | _ -> ()
        // Squared distances below float64's normal range keep only some of their 52 bits: the ‖x − y‖ᵖ costs (and the ε)
        // formed from them would be wrong from the fourth digit on, where the squared Euclidean cost refuses its subnormal ε.
        match p.Geometry with
        | CloudsWithCost (x, y, (:? DistancePower as cost)) ->
            let largest = squaredBoxDiagonal x y
            if largest > 0.0 && not (Double.IsNormal largest) then
                raise (System.ArgumentException(
                    sprintf "The %s costs of these clouds are formed from squared distances below float64's normal range (at most %g): they would lose digits. Scale the coordinates up." (cost :> IPairCost).Name largest, "cost"))
        | _ -> ()
        let floor = resolvableRatio * bound.Value
        if Double.IsFinite floor && e < floor then
            raise (System.ArgumentException(
                sprintf "ε = %g is below the smallest usable ε ≈ %.3g for these costs (2⁻³⁰ × the largest cost %.3g): float64 cannot resolve the log-domain updates there. Use ε ≥ %.3g." e floor (floor / resolvableRatio) floor, "Epsilon"))
        // A relaxed side's potentials are κ = τ/(τ + ε) times the soft-min: far below ε they leave the normal float64
        // numbers (a subnormal τ made κ round to 1e-322, the potentials to zero and the solve fail its own marginal
        // test). Every τ below 1e-200 ε gives the same plan to float64's precision (its limit, P = a⊗b e^{−C/ε}).
        let requireResolvable name (tau: float) =
            if tau < smallestTauRatio * e then
                raise (System.ArgumentException(
                    sprintf "%s = %g is too small next to ε = %g: the relaxed updates' factor τ/(τ + ε) leaves float64's normal range below τ = 1e-200 × ε, where the plan has already reached its τ → 0 limit. Use %s ≥ %.3g." name tau e name (smallestTauRatio * e), name))
        requireResolvable "TauA" p.Relaxation.TauA
        requireResolvable "TauB" p.Relaxation.TauB
        e

    /// The absolute ε for this problem. Fails unless it is positive, finite and resolvable; a relative ε also
    /// needs a mean cost above rounding level (points that all coincide have none).
    let resolveEpsilon (p: OtProblem) (eps: Epsilon) = resolveEpsilonCancellable System.Threading.CancellationToken.None p eps

    /// The same problem with both clouds moved by the midpoint of their weighted means. OT, its values and every
    /// derivative are translation invariant; formulas that expand moments (r x − P y, Σ P y yᵀ, the expanded cost on
    /// GPUs) lose digits in proportion to the distance from the origin, so solvers work on this copy. A cost matrix
    /// is returned as it is.
    let centred (p: OtProblem) =
        let shifted (x: Matrix) (y: Matrix) =
            let xm = Dense.weightedMeanRow x p.A
            let ym = Dense.weightedMeanRow y p.B
            let t = Array.map2 (fun u v -> 0.5 * (u + v)) xm ym
            let shift (z: Matrix) = Matrix(z.Rows, z.Cols, Array.init z.Data.Length (fun k -> z.Data.[k] - t.[k % z.Cols]))
            shift x, shift y
        match p.Geometry with
        | PointClouds (x, y) -> { p with Geometry = PointClouds(shifted x y) }
        | CloudsWithCost (x, y, cost) when cost.TranslationInvariant ->
            let sx, sy = shifted x y
            { p with Geometry = CloudsWithCost(sx, sy, cost) }
        | CloudsWithCost _ | CostMatrix _ -> p

    /// Whether the problem transports a cloud onto itself (the same points and weights on both sides).
    let isSelfTransport (p: OtProblem) =
        match p.Geometry with
        | CloudsWithCost (_, _, cost) when not cost.Symmetric -> false
        | PointClouds (x, y) | CloudsWithCost (x, y, _) -> x.Rows = y.Rows && x.Cols = y.Cols && x.Data = y.Data && p.A = p.B && p.Relaxation.TauA = p.Relaxation.TauB
        | CostMatrix _ -> false

    /// Materialised cost matrix (n×m); O(nm) memory, for small problems and tests.
    let costMatrix (p: OtProblem) =
        match p.Geometry with
        | CostMatrix c -> c
        | CloudsWithCost (x, y, cost) ->
            let c = Matrix.Zeros(x.Rows, y.Rows)
            eachCostRow System.Threading.CancellationToken.None x y cost (fun i row -> Array.blit row 0 c.Data (i * y.Rows) y.Rows)
            c
        | PointClouds (x, y) ->
            let d = x.Cols
            let c = Matrix.Zeros(x.Rows, y.Rows)
            for i in 0 .. x.Rows - 1 do
                for j in 0 .. y.Rows - 1 do
                    let mutable s = 0.0
                    for k in 0 .. d - 1 do
                        let t = x.[i, k] - y.[j, k]
                        s <- s + t * t
                    c.[i, j] <- s
            c
