namespace OtNative.Core

/// First derivatives of entropic OT (SPEC §2).
module Gradients =
    /// Theorem 1: G_k = Σ_j P_kj ∇c_kj = 2 (r_k x_k − (P y)_k), with the plan's own row mass
    /// r = P1, so it is the exact gradient for the computed plan even before convergence.
    let eot (kernel: ITransportKernel) (res: SinkhornResult) =
        let p = kernel.Problem
        let x, y = p.X, p.Y
        let d = x.Cols
        // One pass: columns [1 | y] give r and P y together.
        let v = Matrix(p.M, d + 1, Array.init (p.M * (d + 1)) (fun t -> let j, q = t / (d + 1), t % (d + 1) in if q = 0 then 1.0 else y.[j, q - 1]))
        let rpy = kernel.Apply(Rows, res.Epsilon, res.F, res.G, v, false)
        let g = Matrix.Zeros(p.N, d)
        for k in 0 .. p.N - 1 do
            let r = rpy.[k, 0]
            for q in 0 .. d - 1 do
                g.[k, q] <- 2.0 * (r * x.[k, q] - rpy.[k, q + 1])
        g

    /// Chain rule for a linear model x = Xθ: ∇_θ L = Xᵀ G (p×d).
    let linearModel (design: Matrix) (gradient: Matrix) =
        if design.Rows <> gradient.Rows then
            raise (System.ArgumentException(sprintf "design has %d rows but the gradient has %d points." design.Rows gradient.Rows, "design"))
        Dense.transposeTimes design gradient

    /// ∂L_ε/∂C = P, the materialised plan (n×m).
    let cost (kernel: ITransportKernel) (res: SinkhornResult) = kernel.Plan(res.Epsilon, res.F, res.G)
