namespace OtNative.Core

/// The three OT values of SPEC §1 from a solved problem.
module Values =
    /// Sinkhorn distance (sharp) S_ε = ⟨P, C⟩, one streamed pass.
    let sharp (kernel: ITransportKernel) (r: SinkhornResult) =
        let ones = Matrix.Column(Array.create kernel.Problem.M 1.0)
        let pc = kernel.Apply(Rows, r.Epsilon, r.F, r.G, ones, true)
        Array.sum pc.Data

    /// The plan's own marginals r = P1 and s = Pᵀ1 (two streamed passes).
    let marginals (kernel: ITransportKernel) (res: SinkhornResult) =
        let p = kernel.Problem
        let r = kernel.Apply(Rows, res.Epsilon, res.F, res.G, Matrix.Column(Array.create p.M 1.0), false).Data
        let s = kernel.Apply(Cols, res.Epsilon, res.F, res.G, Matrix.Column(Array.create p.N 1.0), false).Data
        r, s

    /// Primal entropic OT ⟨P,C⟩ + ε KL(P ‖ a⊗b) of the computed plan, through the potentials:
    /// ⟨r,f⟩ + ⟨s,g⟩ − ε(ΣP − 1) with the plan's own marginals r, s. Equals `Value` at the optimum.
    let primal (kernel: ITransportKernel) (res: SinkhornResult) =
        let rowMass, colMass = marginals kernel res
        let total = Array.sum rowMass
        Array.fold2 (fun s ri fi -> s + ri * fi) 0.0 rowMass res.F
        + Array.fold2 (fun s sj gj -> s + sj * gj) 0.0 colMass res.G
        - res.Epsilon * (total - 1.0)

    /// Debiased Sinkhorn divergence L_ε(a,b) − ½L_ε(a,a) − ½L_ε(b,b), all three at the ε resolved
    /// on the (a, b) problem. Returns the divergence and the three solves.
    let divergence (backend: IBackend) (problem: OtProblem) (options: SinkhornOptions) =
        let eps = OtProblem.resolveEpsilon problem options.Epsilon
        let fixedEps = { options with Epsilon = Absolute eps; InitialF = None; InitialG = None }
        let xy = Sinkhorn.solve backend problem { options with Epsilon = Absolute eps }
        let selfProblem (pts: Matrix) (w: float[]) =
            match problem.Geometry with
            | PointClouds _ -> { Geometry = PointClouds(pts, pts); A = w; B = w }
            | CostMatrix _ -> raise (System.NotSupportedException "The debiased divergence needs point clouds: a cost matrix does not define the self-transport costs.")
        let xx = Sinkhorn.solve backend (selfProblem problem.X problem.A) fixedEps
        let yy = Sinkhorn.solve backend (selfProblem problem.Y problem.B) fixedEps
        xy.Value - 0.5 * xx.Value - 0.5 * yy.Value, xy, xx, yy
