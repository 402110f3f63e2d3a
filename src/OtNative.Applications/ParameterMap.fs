namespace OtNative.Applications

open OtNative.Core

/// How the fitted parameters φ (k of them) give the linear map θ (p×d) of x = Xθ: the identity for a
/// general linear map, or a constrained family such as rotation + scale.
type ParameterMap =
    { Name: string
      /// k, the number of parameters.
      Size: int
      ToTheta: float[] -> Matrix
      /// ∂vec(θ)/∂φ, (p·d)×k.
      Jacobian: float[] -> Matrix
      /// Σ_i (∇_θ L)_i ∇²_φ θ_i (k×k) at φ for a θ-gradient: the chain rule's second term.
      Curvature: float[] -> Matrix -> Matrix }

/// Parameterisations of the linear map.
module ParameterMap =
    /// θ itself (p×d), φ = vec(θ) row-major: J = I and no curvature term.
    let linear (p: int) (d: int) =
        { Name = "linear"; Size = p * d
          ToTheta = fun phi -> Matrix(p, d, Array.copy phi)
          Jacobian = fun _ -> Matrix(p * d, p * d, Array.init (p * d * p * d) (fun t -> if t / (p * d) = t % (p * d) then 1.0 else 0.0))
          Curvature = fun _ _ -> Matrix.Zeros(p * d, p * d) }

    /// The rotation exp([ω]×) by Rodrigues' formula.
    let rotation (omega: float[]) =
        let angle = sqrt (Array.sumBy (fun v -> v * v) omega)
        let k = Matrix(3, 3, [| 0.0; -omega.[2]; omega.[1]; omega.[2]; 0.0; -omega.[0]; -omega.[1]; omega.[0]; 0.0 |])
        let k2 = Dense.times k k
        // sin(a)/a and (1 − cos a)/a², by their series near 0.
        let a, b = if angle < 1e-4 then 1.0 - angle * angle / 6.0, 0.5 - angle * angle / 24.0 else sin angle / angle, (1.0 - cos angle) / (angle * angle)
        Matrix(3, 3, Array.init 9 (fun t -> (if t / 3 = t % 3 then 1.0 else 0.0) + a * k.Data.[t] + b * k2.Data.[t]))

    /// φ = (log s, ω₁, ω₂, ω₃) ↦ θ = s · exp([ω]×)ᵀ, the point map x ↦ s Q x written for row vectors. The
    /// Jacobian and the curvature term are taken by central differences of this smooth 4-parameter map
    /// (steps 1e-6 and 1e-4: errors ~1e-10 and ~1e-8, far below what a Newton step needs).
    let rotationScale =
        let toTheta (phi: float[]) =
            let q = rotation phi.[1..3]
            let s = exp phi.[0]
            Matrix(3, 3, Array.init 9 (fun t -> s * q.[t % 3, t / 3]))
        let shifted (phi: float[]) i h = Array.mapi (fun j v -> if j = i then v + h else v) phi
        let jacobian (phi: float[]) =
            let h = 1e-6
            let cols = Array.init 4 (fun i -> Array.map2 (fun a b -> (a - b) / (2.0 * h)) (toTheta (shifted phi i h)).Data (toTheta (shifted phi i -h)).Data)
            Matrix(9, 4, Array.init 36 (fun t -> cols.[t % 4].[t / 4]))
        let curvature (phi: float[]) (gradTheta: Matrix) =
            let h = 1e-4
            let jg (at: float[]) = Dense.transposeTimes (jacobian at) (Matrix.Column gradTheta.Data)
            let c = Matrix(4, 4, Array.init 16 (fun t ->
                let i, j = t / 4, t % 4
                ((jg (shifted phi j h)).Data.[i] - (jg (shifted phi j -h)).Data.[i]) / (2.0 * h)))
            Matrix(4, 4, Array.init 16 (fun t -> 0.5 * (c.Data.[t] + c.Data.[(t % 4) * 4 + t / 4])))
        { Name = "rotation+scale"; Size = 4; ToTheta = toTheta; Jacobian = jacobian; Curvature = curvature }
