namespace OtNative.Core

open System

/// The debiased divergence's self-term in Hessian-vector products (math.md §3): ½ d²/dx² L_ε(x, x) · A, the own
/// Hessian's product plus the mixed one's, (H₁₁ + H₁₂) A, for a self-transport plan (y = x, b = a, the plan symmetric).
module SelfTermProducts =
    /// The direct part of the mixed Hessian H₁₂ = ∂²L/∂x∂y applied to B (m×d):
    /// (D B)_k = Σ_l P_kl (4/ε (x_k − y_l)(x_k − y_l)ᵀ B_l − 2 B_l), from one pass carrying, per direction, B, y·B,
    /// y ⊗ B and y (y·B).
    let private mixedDirect (plan: SolvedPlan) (directions: Matrix[]) =
      match PairContractions.costTermsOf plan.Problem with
      | Some terms ->
        // Another (translation-invariant) cost: Σ_l P_kl ((1/ε) ∇c (∇c · B_l) − ∇²c B_l), pair by pair (math.md §10).
        let d = plan.Problem.X.Cols
        let packed = terms.MixedRows(plan.Epsilon, plan.F, plan.G, Dense.sideBySide directions)
        Array.init directions.Length (Dense.blockOf packed d)
      | None ->
        let x, y = plan.Problem.X, plan.Problem.Y
        let n, m, d = x.Rows, y.Rows, x.Cols
        let eps = plan.Epsilon
        let width = 2 * d + 1 + d * d
        let k = directions.Length
        let yDotB = directions |> Array.map (fun b -> Array.init m (fun l -> let mutable v = 0.0 in (for q in 0 .. d - 1 do v <- v + y.[l, q] * b.[l, q]); v))
        let column c l col =
            let b = directions.[c]
            if col < d then b.[l, col]
            elif col = d then yDotB.[c].[l]
            elif col < 2 * d + 1 then y.[l, col - d - 1] * yDotB.[c].[l]
            else (let t = col - 2 * d - 1 in y.[l, t / d] * b.[l, t % d])
        let moments = plan.ApplyRows(Matrix(m, k * width, Array.init (m * k * width) (fun t ->
                        let l, col = t / (k * width), t % (k * width)
                        column (col / width) l (col % width))), false)
        Array.init k (fun c ->
            let at kk col = moments.Data.[kk * k * width + c * width + col]
            Matrix(n, d, Array.init (n * d) (fun t ->
                let kk, a = t / d, t % d
                let mutable xPb = 0.0
                for q in 0 .. d - 1 do xPb <- xPb + x.[kk, q] * at kk q
                let mutable yBx = 0.0
                for b in 0 .. d - 1 do yBx <- yBx + at kk (2 * d + 1 + a * d + b) * x.[kk, b]
                // Σ_l P_kl (x_k − y_l)((x_k − y_l)·B_l), expanded around the centred coordinates.
                let outer = x.[kk, a] * xPb - x.[kk, a] * at kk d - yBx + at kk (d + 1 + a)
                4.0 / eps * outer - 2.0 * at kk a)))

    /// (H₁₁ + H₁₂) A for each direction A of the self-transport `plan`. The plan's symmetry swaps H's two blocks
    /// (Π H Π = H) and makes the y-side right-hand side Π R A, so H₁₂'s pseudo-inverse part is (1/ε) Rᵀ Π z with the same
    /// z = H⁺ R A as H₁₁'s: one CG solve serves both, and only H₁₂'s direct part and Rᵀ Π z cost two more passes.
    /// Returns the products and the CG report.
    let applyMany (plan: SolvedPlan) (cg: CgOptions) (directions: Matrix[]) =
        if not (OtProblem.isSelfTransport plan.Problem) then
            raise (ArgumentException("the self-term product needs a self-transport plan (the same cloud and weights on both sides).", "plan"))
        let operator = HessianOperator(plan, cg)
        let gradient = operator.Gradient
        let n, d = gradient.Rows, gradient.Cols
        let eps = plan.Epsilon
        let own, zfs, zgs, report = operator.ProductsAndSolutions directions
        let swapped = operator.Contract zfs
        let direct = mixedDirect plan directions
        let products =
            Array.init directions.Length (fun c ->
                let pz, _ = swapped.[c]
                Matrix(n, d, Array.init (n * d) (fun t ->
                    let kk, a = t / d, t % d
                    own.[c].Data.[t] + (zgs.[c].[kk] * gradient.[kk, a] + pz.[kk, a]) / eps + direct.[c].Data.[t])))
        products, report
