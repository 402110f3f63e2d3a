namespace OtNative.Core

open System

/// The OT values of a solved plan beside its dual value `SolvedPlan.Value`: the sharp distance and the primal value
/// (the debiased divergence, from three plans, is `DivergencePlans.Value`).
module Values =
    /// Sinkhorn distance (sharp) S_ε = ⟨P, C⟩, one streamed pass.
    let sharp (plan: SolvedPlan) =
        Array.sum (plan.ApplyRows(Matrix.Column(Array.create plan.Problem.M 1.0), true)).Data

    /// Primal entropic OT ⟨P,C⟩ + ε KL(P ‖ a⊗b) of the computed plan, through the potentials:
    /// ⟨r,f⟩ + ⟨s,g⟩ − ε(ΣP − 1) with the plan's own marginals r, s; a relaxed problem adds its penalties
    /// τ_a KL(r ‖ a) + τ_b KL(s ‖ b) (math.md §9). Equals `Value` at the optimum.
    let primal (plan: SolvedPlan) =
        let rowMass, colMass = plan.RowMass, plan.ColumnMass
        let relaxation = plan.Problem.Relaxation
        let penalty tau (mass: float[]) (w: float[]) = if Double.IsPositiveInfinity tau then 0.0 else tau * Unbalanced.kl mass w
        Array.fold2 (fun s ri fi -> s + ri * fi) 0.0 rowMass plan.F
        + Array.fold2 (fun s sj gj -> s + sj * gj) 0.0 colMass plan.G
        - plan.Epsilon * (Array.sum rowMass - 1.0)
        + penalty relaxation.TauA rowMass plan.Problem.A + penalty relaxation.TauB colMass plan.Problem.B

    /// The plan's total mass ΣP: 1 for a balanced plan, what is transported for a relaxed one.
    let transportedMass (plan: SolvedPlan) = Array.sum plan.RowMass
