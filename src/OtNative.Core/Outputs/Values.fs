namespace OtNative.Core

/// The OT values of a solved plan beside its dual value `SolvedPlan.Value`: the sharp distance and the primal value
/// (the debiased divergence, from three plans, is `DivergencePlans.Value`).
module Values =
    /// Sinkhorn distance (sharp) S_ε = ⟨P, C⟩, one streamed pass.
    let sharp (plan: SolvedPlan) =
        Array.sum (plan.ApplyRows(Matrix.Column(Array.create plan.Problem.M 1.0), true)).Data

    /// Primal entropic OT ⟨P,C⟩ + ε KL(P ‖ a⊗b) of the computed plan, through the potentials:
    /// ⟨r,f⟩ + ⟨s,g⟩ − ε(ΣP − 1) with the plan's own marginals r, s. Equals `Value` at the optimum.
    let primal (plan: SolvedPlan) =
        let rowMass, colMass = plan.RowMass, plan.ColumnMass
        Array.fold2 (fun s ri fi -> s + ri * fi) 0.0 rowMass plan.F
        + Array.fold2 (fun s sj gj -> s + sj * gj) 0.0 colMass plan.G
        - plan.Epsilon * (Array.sum rowMass - 1.0)
