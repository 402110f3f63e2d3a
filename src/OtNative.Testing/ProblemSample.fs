namespace OtNative.Testing

open System
open OtNative

/// One random, well-posed OT problem, rebuilt deterministically from its recipe: two Gaussian blobs
/// (each around a random centre in [−1, 1]^d, unit spread), weights uniform or drawn in [0.5, 1.5] and
/// normalised, and ε as a multiple of the weighted mean cost. Printing it gives the recipe, so a failing
/// draw can be replayed.
[<Sealed; AllowNullLiteral>]
type ProblemSample(seed: int, n: int, m: int, dimension: int, epsilonScale: float, uniformWeights: bool) =
    static let gaussian (rng: Random) =
        sqrt (-2.0 * log (1.0 - rng.NextDouble())) * cos (2.0 * Math.PI * rng.NextDouble())
    static let cloud (rng: Random) count d =
        let centre = Array.init d (fun _ -> 2.0 * rng.NextDouble() - 1.0)
        Array2D.init count d (fun _ k -> centre.[k] + gaussian rng)
    static let weights (rng: Random) count uniform =
        if uniform then Array.create count (1.0 / float count)
        else
            let w = Array.init count (fun _ -> 0.5 + rng.NextDouble())
            let total = Array.sum w
            w |> Array.map (fun v -> v / total)
    do
        if n < 1 || m < 1 || dimension < 1 then invalidArg "n" "a sample needs at least one point on each side and one coordinate."
        if not (epsilonScale > 0.0) then invalidArg "epsilonScale" "ε must be a positive multiple of the mean cost."
    let rng = Random(seed)
    let x = cloud rng n dimension
    let y = cloud rng m dimension
    let a = weights rng n uniformWeights
    let b = weights rng m uniformWeights

    member _.Seed = seed
    member _.N = n
    member _.M = m
    member _.Dimension = dimension
    /// ε / weighted mean cost.
    member _.EpsilonScale = epsilonScale
    member _.UniformWeights = uniformWeights
    /// The source cloud (n × d, a fresh copy).
    member _.X = Array2D.copy x
    /// The target cloud (m × d, a fresh copy).
    member _.Y = Array2D.copy y
    /// The source weights (a fresh copy).
    member _.A = Array.copy a
    /// The target weights (a fresh copy).
    member _.B = Array.copy b

    /// Solver options for this sample: ε relative to the mean cost, the given tolerance, and Sinkhorn handing over to
    /// L-BFGS where it stalls — near-permutation plans (about 2 % of small random problems) leave plain Sinkhorn
    /// short of 1e-12 after 200 000 iterations. An unconverged plan is returned, not thrown: the checks say whether they
    /// apply to it.
    member _.Options(tolerance: float) =
        SinkhornOptions(Epsilon = epsilonScale, EpsilonRelative = true, Tolerance = tolerance, MaxIterations = 200_000,
                        Solver = SinkhornSolver.SinkhornThenLbfgs, AllowUnconverged = true)

    /// A copy of this sample with another ε scale.
    member _.WithEpsilonScale(scale: float) = ProblemSample(seed, n, m, dimension, scale, uniformWeights)

    override _.ToString() =
        sprintf "ProblemSample(seed %d, n %d, m %d, d %d, ε %.4g × mean cost, %s weights)" seed n m dimension epsilonScale
            (if uniformWeights then "uniform" else "random")
