namespace OtNative.Testing

open System

/// Central finite differences and the error measure the checks use, for checking your own derivatives.
[<AbstractClass; Sealed>]
type FiniteDifferences =
    /// ∂f/∂z at z by central differences with the given step, entry by entry.
    static member Gradient(f: Func<float[,], float>, at: float[,], step: float) =
        Array2D.init (Array2D.length1 at) (Array2D.length2 at) (fun i k ->
            let shifted delta =
                let z = Array2D.copy at
                z.[i, k] <- z.[i, k] + delta
                f.Invoke z
            (shifted step - shifted -step) / (2.0 * step))

    /// The derivative of a matrix-valued g at z along a direction, by central differences.
    static member Directional(g: Func<float[,], float[,]>, at: float[,], direction: float[,], step: float) =
        let along (t: float) = g.Invoke(Array2D.init (Array2D.length1 at) (Array2D.length2 at) (fun i k -> at.[i, k] + t * direction.[i, k]))
        let plus, minus = along step, along -step
        Array2D.init (Array2D.length1 plus) (Array2D.length2 plus) (fun i k -> (plus.[i, k] - minus.[i, k]) / (2.0 * step))

    /// ‖a − b‖_F / ‖b‖_F (b's norm floored at 1e-300): the relative error of a against the reference b.
    static member RelativeError(actual: float[,], expected: float[,]) =
        if Array2D.length1 actual <> Array2D.length1 expected || Array2D.length2 actual <> Array2D.length2 expected then
            invalidArg "actual" "the two matrices differ in shape."
        let mutable num = 0.0
        let mutable den = 0.0
        actual |> Array2D.iteri (fun i k v ->
            num <- num + (v - expected.[i, k]) ** 2.0
            den <- den + expected.[i, k] ** 2.0)
        sqrt num / max (sqrt den) 1e-300
