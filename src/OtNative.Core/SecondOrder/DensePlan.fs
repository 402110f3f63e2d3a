namespace OtNative.Core

open OtNative

/// An operator's own per-pair kernels with the potentials of the plan they evaluate.
type PairKernels =
    { Contractions: IPairContractions
      F: float[]
      G: float[] }

/// A materialised plan with the pieces every dense second-order formula uses, computed from the plan
/// itself (its own marginals, never the input weights).
type DensePlan =
    { Plan: Matrix
      X: Matrix
      Y: Matrix
      /// r = P1.
      R: float[]
      /// s = Pᵀ1.
      S: float[]
      /// The H-matrix's row diagonal: r, or r(1 + ε/τ_a) on a relaxed side (math.md §9).
      HRow: float[]
      /// The H-matrix's column diagonal: s, or s(1 + ε/τ_b).
      HCol: float[]
      /// The relaxation of the plan's problem (τ_a, τ_b; ∞ on a balanced side). Balanced, H has the null vector (1, −1);
      /// a relaxed plan's H is positive definite.
      Relaxation: Relaxation
      /// The gradient G_k = Σ_j P_kj ∇c_kj (Theorem 1); not a potential (`SolvedPlan.G` is one).
      Gradient: Matrix
      Eps: float
      /// The solving operator's pair kernels, where it has them (CUDA): the R block and the block diagonal are then
      /// built by them instead of by host loops over the plan.
      Kernels: PairKernels option
      /// Under a cost other than the squared Euclidean one, its curvature contraction: the block diagonal's
      /// Σ_j P_kj ∇²c_kj in place of 2 r_k I (math.md §10).
      CostTerms: ICostContractions option
      /// The SIMD width of the host loops over the plan (the solving CPU backend's).
      Width: SimdWidth }

/// Checks on a plan's marginals before a formula divides by them.
module PlanMass =
    /// Fails with the first entry of `mass` that is zero (or underflowed): the Schur complement and the HVP divide by
    /// the plan's row and column masses, and a zero there would turn the result into NaN.
    let requirePositive (side: string) (mass: float[]) =
        let k = System.Array.FindIndex(mass, fun v -> not (v > 0.0) || System.Double.IsInfinity(1.0 / v))
        if k >= 0 then
            raise (NumericalFailureException(
                sprintf "The plan's %s %d has mass %g: its exponentials underflowed (ε is small next to that point's costs, or the solve stopped early), and the Schur complement divides by it. Use the eigen method (Algorithm 1), a larger ε, or a converged solve." side k mass.[k],
                0, nan))

    /// Whether an H-diagonal entry can be divided by: positive, with a finite inverse.
    let usable (h: float) = h > 0.0 && not (System.Double.IsInfinity(1.0 / h))

    /// x / h, or 0 where h is not `usable`. On a relaxed side (finite τ) a zero (underflowed) mass is a point whose mass
    /// the transport left behind: its rows of P and of H are zero, it is decoupled from every other point, and the
    /// pseudo-inverse of H takes 0 there. On a balanced side `requireBalanced` has refused such a mass first, so this is
    /// x / h exactly.
    let over (h: float) (x: float) = if usable h then x / h else 0.0

    /// `requirePositive` on a balanced side (τ = ∞); nothing on a relaxed one, whose zero masses `over` handles.
    let requireBalanced (tau: float) (side: string) (mass: float[]) =
        if System.Double.IsPositiveInfinity tau then requirePositive side mass

module DensePlan =
    /// From a materialised plan between the clouds x and y at ε.
    let ofMatrix (x: Matrix) (y: Matrix) (plan: Matrix) (eps: float) =
        let r, s = HMatrix.marginals plan
        { Plan = plan; X = x; Y = y; R = r; S = s; HRow = r; HCol = s; Relaxation = Relaxation.Balanced
          Gradient = Gradients.assemble x r (Dense.times plan y); Eps = eps; Kernels = None; CostTerms = None
          Width = Simd.configured.Value }

    /// Materialises a solved point-cloud plan; r, s and G come from the solved plan's own streamed passes over the
    /// same plan (no second pass over the dense matrix).
    let ofSolved (plan: SolvedPlan) =
        let hRow, hCol = HMatrix.diagonalsOf plan
        { Plan = plan.Materialise(); X = plan.Problem.X; Y = plan.Problem.Y; R = plan.RowMass; S = plan.ColumnMass
          HRow = hRow
          HCol = hCol
          Relaxation = plan.Problem.Relaxation
          Gradient = Gradients.eot plan; Eps = plan.Epsilon
          Kernels = PairContractions.ofOperator plan.Operator |> Option.map (fun c -> { Contractions = c; F = plan.F; G = plan.G })
          CostTerms = PairContractions.costTermsOf plan.Problem
          Width = CpuBackend.HostWidth plan.Backend }

/// The spectrum of a solved plan's H-matrix (math.md §4), with a relaxed plan's penalised diagonals (§9).
module PlanSpectrum =
    let ofSolved (plan: SolvedPlan) =
        let relaxation = plan.Problem.Relaxation
        let hRow, hCol = HMatrix.diagonalsOf plan
        let h = HMatrix.denseWith (plan.Materialise()) hRow hCol
        HMatrix.spectrumOf plan.LinearAlgebra relaxation.IsBalanced h

/// The block-diagonal part of the Hessian (math.md §3): δ_kl (−(1/ε) Σ_j P_kj ∇c_kj ∇c_kjᵀ + Σ_j P_kj ∇²c_kj), the last
/// term 2 r_k I_d for the squared Euclidean cost.
module BlockDiagonal =
    /// The n × d·d matrix of the unit directions: contracted along them, a row contraction gives whole d × d blocks.
    let private units n d = Matrix(n, d * d, Array.init (n * d * d) (fun t -> let c = t % (d * d) in if c / d = c % d then 1.0 else 0.0))

    /// Σ_j P_kj h_kj h_kjᵀ for every k from the pair kernels (h = ∇c/2: x_k − y_j for the default cost), as n × d·d.
    let private byKernels (dp: DensePlan) (kernels: PairKernels) =
        kernels.Contractions.OuterRows(dp.Eps, kernels.F, kernels.G, units dp.X.Rows dp.X.Cols)

    /// Adds it to the (n·d)×(n·d) matrix h in place.
    let addTo (dp: DensePlan) (h: Matrix) =
        let n, d = dp.Plan.Rows, dp.X.Cols
        let hd = h.Data
        let nd = n * d
        let outers = dp.Kernels |> Option.map (byKernels dp)
        let curvatures = dp.CostTerms |> Option.map (fun terms -> terms.CurvatureRows(dp.Eps, dp.Kernels.Value.F, dp.Kernels.Value.G, units n d))
        let yT = if outers.IsNone then DenseKernels.byCoordinate dp.Y else null
        // Each k writes only its own d×d block: the rows run in parallel. The block is summed locally and written
        // once (writing through h for every pair cost more than the arithmetic).
        System.Threading.Tasks.Parallel.For(0, n, Parallelism.capped (), fun k ->
            let acc = Array.zeroCreate (d * d)
            match outers with
            | Some o ->
                for t in 0 .. d * d - 1 do acc.[t] <- 4.0 / dp.Eps * o.[k, t]
            | None ->
                // The lower triangle only (the block is symmetric), SIMD over the plan's row.
                DenseKernels.rowOuter dp.Width dp.Plan k dp.X yT acc
                // ∇c_kj = 2 (x_k − y_j): the outer product carries the factor 4.
                for q in 0 .. d - 1 do
                    for t in 0 .. q do
                        acc.[q * d + t] <- 4.0 / dp.Eps * acc.[q * d + t]
                        acc.[t * d + q] <- acc.[q * d + t]
            let block = (k * d) * nd + k * d
            for q in 0 .. d - 1 do
                for t in 0 .. d - 1 do
                    hd.[block + q * nd + t] <- hd.[block + q * nd + t] - acc.[q * d + t]
                match curvatures with
                | Some c ->
                    for t in 0 .. d - 1 do hd.[block + q * nd + t] <- hd.[block + q * nd + t] + c.[k, q * d + t]
                | None -> hd.[block + q * nd + q] <- hd.[block + q * nd + q] + 2.0 * dp.R.[k])
        |> ignore
