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

    /// Chain rule for a linear model x = Xθ: ∇_θ L = Xᵀ G (p×d).
    let linearModel (design: Matrix) (gradient: Matrix) =
        if design.Rows <> gradient.Rows then
            raise (System.ArgumentException(sprintf "design has %d rows but the gradient has %d points." design.Rows gradient.Rows, "design"))
        Dense.transposeTimes design gradient
