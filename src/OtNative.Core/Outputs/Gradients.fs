namespace OtNative.Core

/// First derivatives of entropic OT (math.md §2).
module Gradients =
    /// Theorem 1 from the plan's moments: G_k = Σ_j P_kj ∇c_kj = 2 (r_k x_k − (P y)_k), with the plan's
    /// own row mass r = P1, so it is the exact gradient of the computed plan even before convergence.
    /// The one place this formula is written: streamed plans, dense plans and the comparison methods call it.
    let assemble (x: Matrix) (rowMass: float[]) (transportedTargets: Matrix) =
        let d = x.Cols
        Matrix(x.Rows, d, Array.init (x.Rows * d) (fun t -> 2.0 * (rowMass.[t / d] * x.Data.[t] - transportedTargets.Data.[t])))

    /// ∂L_ε/∂x (n×d) of a solved point-cloud problem (Theorem 1).
    let eot (plan: SolvedPlan) = assemble plan.Problem.X plan.RowMass plan.TransportedTargets

    /// `scale` × ∂L_ε/∂x written row-major into `destination` (n·d values), or added to what it holds: the plan's cached
    /// moments give it with no allocation, for a gradient flow that reuses one buffer (the divergence's G_xy − G_xx is one
    /// write and one subtraction).
    let writeEot (plan: SolvedPlan, destination: System.Span<float>, scale: float, add: bool) =
        let x, r, py = plan.Problem.X, plan.RowMass, plan.TransportedTargets
        let d = x.Cols
        if destination.Length <> x.Data.Length then
            raise (System.ArgumentException(sprintf "The destination holds %d values; the gradient has n·d = %d." destination.Length x.Data.Length, "destination"))
        for t in 0 .. x.Data.Length - 1 do
            let g = scale * 2.0 * (r.[t / d] * x.Data.[t] - py.Data.[t])
            destination.[t] <- if add then destination.[t] + g else g

    /// Chain rule for a linear model x = Xθ: ∇_θ L = Xᵀ G (p×d).
    let linearModel (design: Matrix) (gradient: Matrix) =
        if design.Rows <> gradient.Rows then
            raise (System.ArgumentException(sprintf "design has %d rows but the gradient has %d points." design.Rows gradient.Rows, "design"))
        Dense.transposeTimes design gradient
