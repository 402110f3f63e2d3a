namespace OtNative.Core

/// First derivatives of entropic OT (math.md §2).
module Gradients =
    /// Theorem 1 from the plan's moments: G_k = Σ_j P_kj ∇c_kj = 2 (r_k x_k − (P y)_k), with the plan's
    /// own row mass r = P1, so it is the exact gradient of the computed plan even before convergence.
    /// The one place this formula is written (`scale` × G row-major into `destination`, or added to what it holds):
    /// streamed plans, dense plans, the comparison methods and the buffer form below call it.
    let private write (x: Matrix, rowMass: float[], transportedTargets: Matrix, destination: System.Span<float>, scale: float, add: bool) =
        let d = x.Cols
        for t in 0 .. x.Data.Length - 1 do
            let g = scale * 2.0 * (rowMass.[t / d] * x.Data.[t] - transportedTargets.Data.[t])
            destination.[t] <- if add then destination.[t] + g else g

    /// G (n×d) as a new matrix.
    let assemble (x: Matrix) (rowMass: float[]) (transportedTargets: Matrix) =
        let data = Array.zeroCreate x.Data.Length
        write (x, rowMass, transportedTargets, System.Span data, 1.0, false)
        Matrix(x.Rows, x.Cols, data)

    /// Σ_j P_kj ∇c_kj under a cost other than the squared Euclidean one (math.md §10), pair by pair: twice the
    /// half-gradient contraction against w = 1.
    let private ofPairs (plan: SolvedPlan) (contractions: IPairContractions) =
        let n, m, d = plan.Problem.N, plan.Problem.M, plan.Problem.X.Cols
        let sums = contractions.ContractRows(plan.Epsilon, plan.F, plan.G, Matrix.Column(Array.create m 1.0))
        Matrix(n, d, Array.init (n * d) (fun t -> 2.0 * sums.[t / d, 1 + t % d]))

    /// ∂L_ε/∂x (n×d) of a solved point-cloud problem (Theorem 1).
    let eot (plan: SolvedPlan) =
        match plan.Problem.PairCost with
        | Some _ -> ofPairs plan (PairContractions.reference plan.Problem)
        | None -> assemble plan.Problem.X plan.RowMass plan.TransportedTargets

    /// `scale` × ∂L_ε/∂x written row-major into `destination` (n·d values), or added to what it holds: the plan's cached
    /// moments give it with no allocation, for a gradient flow that reuses one buffer (the divergence's G_xy − G_xx is one
    /// write and one subtraction); under a cost other than the squared Euclidean one it takes a pass over the pairs.
    let writeEot (plan: SolvedPlan, destination: System.Span<float>, scale: float, add: bool) =
        let x = plan.Problem.X
        if destination.Length <> x.Data.Length then
            raise (System.ArgumentException(sprintf "The destination holds %d values; the gradient has n·d = %d." destination.Length x.Data.Length, "destination"))
        match plan.Problem.PairCost with
        | Some _ ->
            let g = eot plan
            for t in 0 .. g.Data.Length - 1 do
                destination.[t] <- (if add then destination.[t] else 0.0) + scale * g.Data.[t]
        | None -> write (x, plan.RowMass, plan.TransportedTargets, destination, scale, add)

    /// Chain rule for a linear model x = Xθ: ∇_θ L = Xᵀ G (p×d).
    let linearModel (design: Matrix) (gradient: Matrix) =
        if design.Rows <> gradient.Rows then
            raise (System.ArgumentException(sprintf "design has %d rows but the gradient has %d points." design.Rows gradient.Rows, "design"))
        Dense.transposeTimes design gradient
