namespace OtNative.Core

/// How a parameter Hessian was formed.
type ParameterHessianPath =
    /// Σ_kl X_kᵀ X_l ⊗ Hess[k,:,l,:] from the dense Hessian (Schur fast path).
    | FromDenseHessian
    /// p·d Hessian-vector products, nothing n×m stored.
    | FromHessianVectorProducts

/// A parameter Hessian and how it was obtained.
type ParameterHessianResult =
    { /// (p·d)×(p·d), index p'·d + q.
      Hessian: Matrix
      Path: ParameterHessianPath
      /// The worst CG report on the matrix-free path; None on the dense path.
      Cg: CgReport option }

/// ∇²_θ L_ε(Xθ, y) for a linear model x = Xθ (math.md §3): dense or matrix-free, whichever is cheaper.
module ParameterHessian =
    /// (X ⊗ I_d)ᵀ Hess (X ⊗ I_d) for a dense (n·d)×(n·d) Hessian and a design X (n×p).
    let ofDense (la: ILinearAlgebra) (hess: Matrix) (design: Matrix) (d: int) =
        let n, pCount = design.Rows, design.Cols
        if hess.Rows <> n * d then
            raise (System.ArgumentException(sprintf "the Hessian has %d rows but the design has %d points of dimension %d." hess.Rows n d, "design"))
        let lift = Matrix.Zeros(n * d, pCount * d)
        for k in 0 .. n - 1 do
            for a in 0 .. pCount - 1 do
                for q in 0 .. d - 1 do lift.[k * d + q, a * d + q] <- design.[k, a]
        la.Multiply(lift, true, la.Multiply(hess, false, lift, false), false)

    /// Whether the dense path is expected to be cheaper: it costs about n·m·min(n,m) + 10·min(n,m)³ +
    /// (n·d)²·min(n,m) flops and 3·n·m + 3·(n·d)² doubles; the matrix-free path ~50 block-CG iterations of
    /// two streamed passes, each pair costing an exponential (~100 BLAS flops' time) plus 4 flops per
    /// direction. Dense only under 2 GiB.
    let preferDense (n: int) (m: int) (d: int) (pCount: int) =
        let n, m, d, pc = float n, float m, float d, float pCount
        let k = min n m
        let denseFlops = n * m * k + 10.0 * k ** 3.0 + (n * d) ** 2.0 * k
        let denseBytes = 8.0 * (3.0 * n * m + 3.0 * (n * d) ** 2.0 + k * k)
        let matrixFreeFlops = 50.0 * 2.0 * n * m * (100.0 + 4.0 * pc * d)
        denseBytes < 2.0 * 1024.0 ** 3.0 && denseFlops < matrixFreeFlops

    /// The parameter Hessian of a solved point-cloud problem, by the cheaper path, on the plan's backend.
    let compute (plan: SolvedPlan) (design: Matrix) (cg: CgOptions) =
        let p = plan.Problem
        if design.Rows <> p.N then
            raise (System.ArgumentException(sprintf "design has %d rows but there are %d points." design.Rows p.N, "design"))
        let d = p.X.Cols
        if preferDense p.N p.M d design.Cols then
            let hess = Hessian.compute plan { HessianOptions.Default with Method = Schur; Cancellation = cg.Cancellation }
            { Hessian = ofDense plan.LinearAlgebra hess.Hessian design d; Path = FromDenseHessian; Cg = None }
        else
            let h, report = HessianOperator(plan, cg).ParameterHessian design
            { Hessian = h; Path = FromHessianVectorProducts; Cg = Some report }
