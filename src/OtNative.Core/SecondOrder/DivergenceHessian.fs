namespace OtNative.Core

open OtNative

/// The dense Hessian in x of the debiased divergence S(x) = L(x, y) − ½L(x, x) − ½L(y, y) (math.md §3).
/// The self-term moves in both arguments: d²L(x, x) = H₁₁ + H₁₂ + H₂₁ + H₂₂, and at the symmetric point H₂₂ = H₁₁
/// and H₂₁ = H₁₂ᵀ, so ∇²S = ∇²ₓL(x, y) − H₁₁ − ½(H₁₂ + H₁₂ᵀ), H₁₁ the self-term's Hessian in its first argument
/// and H₁₂ its mixed Hessian.
module DivergenceHessian =
    /// H₁₂ = ∂²L/∂x∂y (n·d × m·d) of a point-cloud plan: (1/ε) R_xᵀ H⁺ R_y plus the direct term
    /// P_kl (4/ε (x_k − y_l)(x_k − y_l)ᵀ − 2I), H⁺ Algorithm 1's truncated pseudo-inverse (eigenvalues ≤ τ dropped).
    /// R_x is the Hessian's right-hand side; R_y its analogue for y: the f-block P_kl ∇_y c_kl, the g-block
    /// δ_jl Σ_k P_kl ∇_y c_kl, with ∇_y c = −2(x − y).
    let mixed (la: ILinearAlgebra) (pm: DensePlan) (tau: float) =
        let n, m, d = pm.Plan.Rows, pm.Plan.Cols, pm.X.Cols
        let plan, x, y = pm.Plan, pm.X, pm.Y
        let rx = Hessian.rightHandSide pm 1.0
        let ry = Matrix.Zeros(n + m, m * d)
        for k in 0 .. n - 1 do
            for l in 0 .. m - 1 do
                for b in 0 .. d - 1 do
                    let v = -2.0 * plan.[k, l] * (x.[k, b] - y.[l, b])
                    ry.[k, l * d + b] <- v
                    ry.[n + l, l * d + b] <- ry.[n + l, l * d + b] + v
        let values, vectors = la.SymmetricEigen(HMatrix.dense plan)
        let keep = [| for i in 0 .. values.Length - 1 do if values.[i] > tau then yield i |]
        let kept = Matrix(vectors.Rows, keep.Length, Array.init (vectors.Rows * keep.Length) (fun t -> vectors.[t / keep.Length, keep.[t % keep.Length]]))
        let px = la.Multiply(kept, true, rx, false)
        let py = la.Multiply(kept, true, ry, false)
        for i in 0 .. keep.Length - 1 do
            let inv = 1.0 / values.[keep.[i]]
            for c in 0 .. py.Cols - 1 do py.[i, c] <- py.[i, c] * inv
        let h = la.Multiply(px, true, py, false)
        for i in 0 .. h.Data.Length - 1 do h.Data.[i] <- h.Data.[i] / pm.Eps
        for k in 0 .. n - 1 do
            for l in 0 .. m - 1 do
                let pkl = plan.[k, l]
                for a in 0 .. d - 1 do
                    for b in 0 .. d - 1 do
                        let direct = pkl * (4.0 / pm.Eps * (x.[k, a] - y.[l, a]) * (x.[k, b] - y.[l, b]) - (if a = b then 2.0 else 0.0))
                        h.[k * d + a, l * d + b] <- h.[k * d + a, l * d + b] + direct
        h

    /// ∇²ₓ of the debiased divergence (n·d × n·d): two solves (the cross term, the self-term by the symmetric update),
    /// the cross Hessian and the self-term's own and mixed Hessians, all by Algorithm 1 with the absolute threshold τ.
    let compute (backend: IBackend) (problem: OtProblem) (options: SinkhornOptions) (tau: float) =
        Validation.positive "threshold" tau
        let p = problem
        Hessian.requireMemory p.N p.M p.X.Cols Eigen
        Hessian.requireMemory p.N p.N p.X.Cols Eigen
        let hessianOptions = { HessianOptions.Default with Threshold = tau; Cancellation = options.Cancellation }
        let cross, (own, h12) =
            Sinkhorn.withDivergencePlans backend p options
                (fun plan -> (Hessian.compute plan hessianOptions).Hessian)
                (fun self -> (Hessian.compute self hessianOptions).Hessian, mixed self.LinearAlgebra (DensePlan.ofSolved self) tau)
        let size = cross.Rows
        Matrix(size, size, Array.init (size * size) (fun t ->
            let i, j = t / size, t % size
            cross.Data.[t] - own.Data.[t] - 0.5 * (h12.[i, j] + h12.[j, i])))

    /// ∇²ₓS · A for several directions A (n×d), matrix-free: the cross plan's HVPs minus the self-term's
    /// (H₁₁ + H₁₂) A (`HessianOperator.SelfTermApplyMany`), two solves and two CG solves, each pass carrying every
    /// direction. Returns the products and the worse of the two CG reports.
    let hessianVectorProducts (backend: IBackend) (problem: OtProblem) (options: SinkhornOptions) (cg: CgOptions) (directions: Matrix[]) =
        let (cross, crossReport), (own, selfReport) =
            Sinkhorn.withDivergencePlans backend problem options
                (fun plan -> HessianOperator(plan, cg).ApplyMany directions)
                (fun self -> HessianOperator(self, cg).SelfTermApplyMany directions)
        Array.map2 (fun (c: Matrix) (o: Matrix) -> Matrix(c.Rows, c.Cols, Array.map2 (-) c.Data o.Data)) cross own,
        CgReport.Worse(crossReport, selfReport)
