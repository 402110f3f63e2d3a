namespace OtNative.Core

/// The debiased divergence and the three solves behind it.
type DivergenceValues =
    { /// L_ε(a,b) − ½L_ε(a,a) − ½L_ε(b,b).
      Value: float
      /// The (a, b) solve.
      Cross: SinkhornResult
      /// The (a, a) self-transport solve.
      SourceSelf: SinkhornResult
      /// The (b, b) self-transport solve.
      TargetSelf: SinkhornResult }

/// The three OT values of a solved plan: the dual value is `SolvedPlan.Value`; here the sharp distance,
/// the primal value and the debiased divergence.
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

    /// Debiased Sinkhorn divergence L_ε(a,b) − ½L_ε(a,a) − ½L_ε(b,b), all three at the ε resolved
    /// on the (a, b) problem.
    let divergence (backend: IBackend) (problem: OtProblem) (options: SinkhornOptions) =
        let eps = OtProblem.resolveEpsilon problem options.Epsilon
        let fixedEps = { options with Epsilon = Absolute eps; InitialF = None; InitialG = None }
        let selfProblem (pts: Matrix) (w: float[]) =
            match problem.Geometry with
            | PointClouds _ -> { Geometry = PointClouds(pts, pts); A = w; B = w }
            | CostMatrix _ -> raise (System.NotSupportedException "The debiased divergence needs point clouds: a cost matrix does not define the self-transport costs.")
        let solution (solver: IBackend -> OtProblem -> SinkhornOptions -> SolvedPlan) p o =
            use plan = solver backend p o
            plan.Solution
        // A cloud against itself is a self-transport too: the same solver then gives the divergence 0 exactly.
        let cross = if OtProblem.isSelfTransport problem then Sinkhorn.solveSymmetric else Sinkhorn.solve
        let xy = solution cross problem { options with Epsilon = Absolute eps }
        // The self-terms by the symmetric update: a few dozen iterations where alternating updates take thousands.
        let xx = solution Sinkhorn.solveSymmetric (selfProblem problem.X problem.A) fixedEps
        let yy = solution Sinkhorn.solveSymmetric (selfProblem problem.Y problem.B) fixedEps
        { Value = xy.Value - 0.5 * xx.Value - 0.5 * yy.Value; Cross = xy; SourceSelf = xx; TargetSelf = yy }
