namespace OtNative.Core

open System

/// Data-dependent starting potentials (math.md §1): they change the iterations, never the answer.
module Initializers =
    /// A symmetric PSD matrix raised to the power `power` through its eigen-decomposition, eigenvalues below
    /// 10⁻¹² of the largest floored there (a degenerate cloud, e.g. collinear points, has a singular covariance).
    let private symmetricPower (la: ILinearAlgebra) (m: Matrix) (power: float) =
        let values, vectors = la.SymmetricEigen m
        let top = max (Array.max values) Double.Epsilon
        let scaled = values |> Array.map (fun v -> (max v (1e-12 * top)) ** power)
        let d = m.Rows
        Matrix(d, d, Array.init (d * d) (fun t ->
            let i, j = t / d, t % d
            let mutable s = 0.0
            for k in 0 .. d - 1 do s <- s + vectors.[i, k] * scaled.[k] * vectors.[j, k]
            s))

    /// The initialiser `Initializer.Auto` stands for on this problem: sorting for one-dimensional clouds, Gaussian for
    /// other point clouds, none for a cost matrix or another ground cost. The data-dependent initialisers are written for
    /// the squared Euclidean cost: under another cost they are refused.
    let resolve (initializer: Initializer) (problem: OtProblem) =
        match initializer, problem.Geometry with
        | Initializer.Auto, PointClouds (x, _) when x.Cols = 1 -> Initializer.Sorting
        | Initializer.Auto, PointClouds _ -> Initializer.Gaussian
        | Initializer.Auto, (CostMatrix _ | CloudsWithCost _) -> Initializer.None
        | Initializer.None, _ -> Initializer.None
        | chosen, CloudsWithCost (_, _, cost) ->
            raise (NotSupportedException(sprintf "The %A initialiser is written for the squared Euclidean cost; this problem's cost is %s. Use Initializer.None (or Auto)." chosen cost.Name))
        | chosen, _ -> chosen

    /// The linear part of the Monge map between Gaussians with covariances Σa and Σb,
    /// A = Σa^{-1/2}(Σa^{1/2} Σb Σa^{1/2})^{1/2} Σa^{-1/2}, and tr((Σa^{1/2} Σb Σa^{1/2})^{1/2}), the cross term of
    /// their squared Bures–Wasserstein distance.
    let private gaussianMap (la: ILinearAlgebra) (covA: Matrix) (covB: Matrix) =
        let rootA = symmetricPower la covA 0.5
        let inverseRootA = symmetricPower la covA -0.5
        let middle = symmetricPower la (Dense.times rootA (Dense.times covB rootA)) 0.5
        Dense.times inverseRootA (Dense.times middle inverseRootA), Dense.trace middle

    /// The Gaussian map's potential for c = ‖x − y‖² at source point i: f(x) = ‖x‖² − (x − μ_a)ᵀA(x − μ_a) − 2xᵀμ_b,
    /// whose gradient 2(x − T(x)) is the one T(x) = μ_b + A(x − μ_a) asks for.
    let private gaussianPotentialAt (x: Matrix) i (muA: float[]) (a: Matrix) (muB: float[]) =
        let mutable value = 0.0
        for p in 0 .. x.Cols - 1 do
            let xp = x.[i, p]
            let mutable ax = 0.0
            for q in 0 .. x.Cols - 1 do ax <- ax + a.[p, q] * (x.[i, q] - muA.[q])
            value <- value + xp * xp - (xp - muA.[p]) * ax - 2.0 * xp * muB.[p]
        value

    let private needsPointClouds (name: string) (problem: OtProblem) =
        match problem.Geometry with
        | CostMatrix _ -> raise (NotSupportedException(sprintf "The %s initialiser needs point clouds: a cost matrix has no coordinates to fit." name))
        | CloudsWithCost (_, _, cost) -> raise (NotSupportedException(sprintf "The %s initialiser is written for the squared Euclidean cost, not %s." name cost.Name))
        | PointClouds (x, y) -> x, y

    /// Thornton & Cuturi's Gaussian initialiser: the potential of the Monge map between the clouds' weighted Gaussian
    /// fits (`gaussianPotentialAt`), up to a constant. Point clouds only. A source cloud whose covariance is
    /// (numerically) singular — one point, collinear points — has no Gaussian fit to map from: the solve then starts
    /// from f = 0.
    let gaussian (la: ILinearAlgebra) (problem: OtProblem) =
        let x, y = needsPointClouds "Gaussian" problem
        let muA, covA = GaussianMixture.moments x problem.A
        let spectrum, _ = la.SymmetricEigen covA
        if not (spectrum.[0] > 1e-9 * spectrum.[spectrum.Length - 1]) then Array.zeroCreate x.Rows else
        let muB, covB = GaussianMixture.moments y problem.B
        let a, _ = gaussianMap la covA covB
        Array.init x.Rows (fun i -> gaussianPotentialAt x i muA a muB)

    /// Points in each cloud's subsample (the subsample initialiser): its solve costs a few full passes' worth of
    /// pairs at the sizes where the initialiser pays (n ≥ a few thousand), and it resolves the clouds' large-scale shape.
    let private subsampleSize = 256

    /// k of the indices 0 … n−1 without replacement, in increasing order, from a seed fixed by n and k: the same
    /// problem starts the same way every time.
    let private drawIndices n k =
        let rng = Random(31 * n + k)
        let order = Array.init n id
        for t in 0 .. k - 1 do
            let s = t + rng.Next(n - t)
            let held = order.[t]
            order.[t] <- order.[s]
            order.[s] <- held
        Array.sort order.[.. k - 1]

    /// A cloud's subsample of at most `size` points and its weights renormalised to one.
    let private subsampleOf (size: int) (z: Matrix) (w: float[]) =
        let rows = drawIndices z.Rows (min size z.Rows)
        let total = rows |> Array.sumBy (fun i -> w.[i])
        Matrix(rows.Length, z.Cols, Array.init (rows.Length * z.Cols) (fun t -> z.[rows.[t / z.Cols], t % z.Cols])),
        rows |> Array.map (fun i -> w.[i] / total)

    /// The subsample initialiser's subsample of a cloud (at most `subsampleSize` points). Its solve needs the solver,
    /// so it lives in `Sinkhorn`.
    let subsample (z: Matrix) (w: float[]) = subsampleOf subsampleSize z w

    /// Points the GMM initialiser fits each mixture to: EM's cost grows with the points, the clusters it has to find
    /// do not.
    let private mixtureSampleSize = 500

    /// The GMM initialiser (math.md §6): Gaussian mixtures fitted to both clouds (`GaussianMixture.fit`, on at most
    /// `mixtureSampleSize` points of each), entropic OT
    /// at ε between their components with the squared Bures–Wasserstein cost W_kl (solved by `solveComponents cost
    /// πa πb`, which returns the component problem's potentials α, β), and per component pair (k, l) the Gaussian
    /// potential f_kl shifted so that its mean under component k is α_k. A source point mixes the pairs by its
    /// posterior over k times the component plan's conditional γ_kl / Σ_l γ_kl: f(x) = Σ_kl p_k(x) γ_kl/π_k (f_kl(x) +
    /// c_kl). With one component on each side it is the Gaussian initialiser.
    let gaussianMixture (la: ILinearAlgebra) (solveComponents: Matrix -> float[] -> float[] -> float[] * float[]) (eps: float) (problem: OtProblem) =
        let x, y = needsPointClouds "GMM" problem
        let source = GaussianMixture.fit la <|| subsampleOf mixtureSampleSize x problem.A
        let target = GaussianMixture.fit la <|| subsampleOf mixtureSampleSize y problem.B
        let ks, ls = source.Weights.Length, target.Weights.Length
        let maps = Array2D.init ks ls (fun k l -> gaussianMap la source.Covariances.[k] target.Covariances.[l])
        let cost = Matrix(ks, ls, Array.init (ks * ls) (fun t ->
            let k, l = t / ls, t % ls
            let meanGap = Array.map2 (-) source.Means.[k] target.Means.[l]
            Dense.dot meanGap meanGap + Dense.trace source.Covariances.[k] + Dense.trace target.Covariances.[l] - 2.0 * snd maps.[k, l]))
        let alpha, beta = solveComponents cost source.Weights target.Weights
        let plan = Array2D.init ks ls (fun k l -> source.Weights.[k] * target.Weights.[l] * exp ((alpha.[k] + beta.[l] - cost.[k, l]) / eps))
        let conditional = Array2D.init ks ls (fun k l -> plan.[k, l] / Seq.sum (Seq.init ls (fun l' -> plan.[k, l'])))
        // E_k[f_kl] = ‖μ_k‖² + tr Σ_k − tr(A Σ_k) − 2 μ_kᵀμ_l, before the shift.
        let shift = Array2D.init ks ls (fun k l ->
            let mu, cov, a = source.Means.[k], source.Covariances.[k], fst maps.[k, l]
            let mean = Dense.dot mu mu + Dense.trace cov - Dense.trace (Dense.times a cov) - 2.0 * Dense.dot mu target.Means.[l]
            alpha.[k] - mean)
        let posterior = GaussianMixture.posteriors la source x
        Array.init x.Rows (fun i ->
            let mutable value = 0.0
            for k in 0 .. ks - 1 do
                for l in 0 .. ls - 1 do
                    let weight = posterior.[i, k] * conditional.[k, l]
                    if weight > 0.0 then
                        value <- value + weight * (gaussianPotentialAt x i source.Means.[k] (fst maps.[k, l]) target.Means.[l] + shift.[k, l])
            value)

    /// One-dimensional clouds: the unregularised Kantorovich potential, exact for the discrete measures up to the
    /// quadrature. For c = (x − y)² the optimal map T is monotone and f′ = 2(x − T(x)); T sends a source point (at the
    /// midpoint of its cumulative weight u) to the target's u-quantile, and f(x_(k)) = x_(k)² − 2∫T is integrated by the
    /// trapezoid rule over the sorted source (exact where T is affine). Cost O(n log n + m log m).
    let sorting (problem: OtProblem) =
        match problem.Geometry with
        | CostMatrix _ -> raise (NotSupportedException "The sorting initialiser needs point clouds: a cost matrix has no coordinates to sort.")
        | CloudsWithCost _ -> needsPointClouds "sorting" problem |> ignore; [||]
        | PointClouds (x, _) when x.Cols <> 1 ->
            raise (NotSupportedException(sprintf "The sorting initialiser is for one-dimensional clouds; these have d = %d (use the Gaussian one)." x.Cols))
        | PointClouds (x, y) ->
            let xs, ys, a, b = x.Data, y.Data, problem.A, problem.B
            let byX = Array.init xs.Length id |> Array.sortBy (fun i -> xs.[i])
            let byY = Array.init ys.Length id |> Array.sortBy (fun j -> ys.[j])
            // T at each sorted source point: the target quantile at the midpoint of its cumulative weight.
            let mapped = Array.zeroCreate xs.Length
            let mutable below = 0.0
            let mutable j = 0
            let mutable upTo = b.[byY.[0]]
            for i in byX do
                let u = below + 0.5 * a.[i]
                below <- below + a.[i]
                while upTo < u && j < byY.Length - 1 do
                    j <- j + 1
                    upTo <- upTo + b.[byY.[j]]
                mapped.[i] <- ys.[byY.[j]]
            let f = Array.zeroCreate xs.Length
            let mutable integral = 0.0
            for r in 0 .. byX.Length - 1 do
                let i = byX.[r]
                if r > 0 then
                    let previous = byX.[r - 1]
                    integral <- integral + 0.5 * (xs.[i] - xs.[previous]) * (mapped.[i] + mapped.[previous])
                f.[i] <- xs.[i] * xs.[i] - 2.0 * integral
            f

    /// 1 / the largest |coordinate| of a point-cloud problem (1 for a cost matrix, or where every coordinate is 0): the
    /// factor that brings the clouds to unit size. A power of two, so that rescaling is exact.
    let unitScale (problem: OtProblem) =
        match problem.Geometry with
        | PointClouds (x, y) ->
            let largestOf (z: Matrix) = z.Data |> Array.fold (fun m v -> max m (abs v)) 0.0
            let largest = max (largestOf x) (largestOf y)
            if largest > 0.0 && Double.IsFinite largest then Math.Pow(2.0, -Math.Ceiling(Math.Log2 largest)) else 1.0
        | CostMatrix _ | CloudsWithCost _ -> 1.0

    /// The problem with both clouds multiplied by `s` (a cost matrix by s²).
    let rescaled (problem: OtProblem) (s: float) =
        let times (z: Matrix) (k: float) = Matrix(z.Rows, z.Cols, Array.map (fun v -> v * k) z.Data)
        match problem.Geometry with
        | PointClouds (x, y) -> { problem with Geometry = PointClouds(times x s, times y s) }
        | CostMatrix c -> { problem with Geometry = CostMatrix(times c (s * s)) }
        | CloudsWithCost _ when s = 1.0 -> problem
        | CloudsWithCost (_, _, cost) -> raise (NotSupportedException(sprintf "Rescaling changes a %s cost by more than a factor: only the squared Euclidean one rescales." cost.Name))

    /// Thornton & Cuturi's subsample initialiser on a prepared point-cloud problem: OT at ε between subsamples
    /// (`subsample`) of both clouds (weights renormalised), solved coarsely by `solveCoarse` (the Sinkhorn loop, injected:
    /// the initialisers come before the solvers), then its g extended to every source point by the soft c-transform
    /// f_i = −ε LSE_{j∈S}(log b̃_j + (g_j − C_ij)/ε) — one pass over n × |S| pairs. The f and the work, in passes over the
    /// full problem's pairs (rounded up).
    let subsampleStart (operator: ITransportOperator) (eps: float) (cancellation: Threading.CancellationToken)
                       (solveCoarse: ITransportOperator -> SinkhornSolution) =
        let p = operator.Problem
        match p.Geometry with
        | CostMatrix _ -> raise (NotSupportedException "The subsample initialiser needs point clouds: subsample the cost matrix's rows and columns yourself.")
        | CloudsWithCost _ -> needsPointClouds "subsample" p |> ignore; [||], 0
        | PointClouds (x, y) ->
            let xs, aS = subsample x p.A
            let ys, bS = subsample y p.B
            use small = operator.Backend.Prepare(OtProblem.create xs ys (Some aS) (Some bS))
            let coarse = solveCoarse small
            use extension = operator.Backend.Prepare(OtProblem.create x ys (Some p.A) (Some bS))
            let f = Array.zeroCreate p.N
            extension.Softmin(Rows, eps, coarse.G, f, cancellation)
            let pairs = float p.N * float p.M
            let work = float coarse.Passes * float xs.Rows * float ys.Rows + float p.N * float ys.Rows
            f, int (ceil (work / pairs))

    /// The starting f the initialiser gives on this problem, or None for f = 0.
    let initialPotential (la: ILinearAlgebra) (initializer: Initializer) (problem: OtProblem) =
        match resolve initializer problem with
        | Initializer.Gaussian -> Some (gaussian la problem)
        | Initializer.Sorting -> Some (sorting problem)
        | _ -> None
