namespace OtNative.Testing

open System
open FsCheck
open FsCheck.FSharp

/// FsCheck generators of OT inputs. From C#: `Prop.ForAll(OtGenerators.Arbitrary(9, 4), s => …)` with FsCheck.Fluent
/// (shrinking a failing draw); from F#: `Prop.forAll (OtGenerators.Arbitrary(9, 4)) (fun s -> …)`.
[<AbstractClass; Sealed>]
type OtGenerators =
    /// ε / mean cost, log-uniform in [min, max].
    static member EpsilonScale(min: float, max: float) : Gen<float> =
        if not (min > 0.0 && max >= min) then invalidArg "min" "the ε range must satisfy 0 < min ≤ max."
        Gen.choose (0, 1000) |> Gen.map (fun t -> min * (max / min) ** (float t / 1000.0))

    /// Problems with 1 … maxPoints points on each side (independently), dimension 1 … maxDimension, ε from
    /// minEpsilonScale to maxEpsilonScale × mean cost, uniform or random weights.
    static member Problems(maxPoints: int, maxDimension: int, minEpsilonScale: float, maxEpsilonScale: float) : Gen<ProblemSample> =
        if maxPoints < 1 || maxDimension < 1 then invalidArg "maxPoints" "at least one point and one coordinate."
        gen {
            let! seed = Gen.choose (0, Int32.MaxValue - 1)
            let! n = Gen.choose (1, maxPoints)
            let! m = Gen.choose (1, maxPoints)
            let! d = Gen.choose (1, maxDimension)
            let! eps = OtGenerators.EpsilonScale(minEpsilonScale, maxEpsilonScale)
            let! uniform = Gen.elements [ true; false ]
            return ProblemSample(seed, n, m, d, eps, uniform)
        }

    /// Problems with ε from 0.01 to 1 × mean cost.
    static member Problems(maxPoints: int, maxDimension: int) = OtGenerators.Problems(maxPoints, maxDimension, 0.01, 1.0)

    /// Smaller problems than `sample`, for FsCheck to shrink a failing draw to: one point fewer on either side, one
    /// coordinate fewer, uniform weights — the same seed, so the smaller clouds are drawn alike.
    static member Shrink(sample: ProblemSample) : seq<ProblemSample> =
        let s = sample
        seq {
            if s.N > 1 then yield ProblemSample(s.Seed, s.N - 1, s.M, s.Dimension, s.EpsilonScale, s.UniformWeights)
            if s.M > 1 then yield ProblemSample(s.Seed, s.N, s.M - 1, s.Dimension, s.EpsilonScale, s.UniformWeights)
            if s.Dimension > 1 then yield ProblemSample(s.Seed, s.N, s.M, s.Dimension - 1, s.EpsilonScale, s.UniformWeights)
            if not s.UniformWeights then yield ProblemSample(s.Seed, s.N, s.M, s.Dimension, s.EpsilonScale, true)
        }

    /// `Problems` with `Shrink`: a failing property is reported on the smallest problem that still fails. From C#:
    /// `Prop.ForAll(OtGenerators.Arbitrary(9, 4, 0.01, 1.0), s => …)`.
    static member Arbitrary(maxPoints: int, maxDimension: int, minEpsilonScale: float, maxEpsilonScale: float) : Arbitrary<ProblemSample> =
        Arb.fromGenShrink (OtGenerators.Problems(maxPoints, maxDimension, minEpsilonScale, maxEpsilonScale), OtGenerators.Shrink)

    /// `Arbitrary` with ε from 0.01 to 1 × mean cost.
    static member Arbitrary(maxPoints: int, maxDimension: int) = OtGenerators.Arbitrary(maxPoints, maxDimension, 0.01, 1.0)

    /// A direction (rows × d) with standard normal entries: a perturbation of a cloud, an HVP argument.
    static member Direction(rows: int, dimension: int) : Gen<float[,]> =
        Gen.choose (0, Int32.MaxValue - 1)
        |> Gen.map (fun seed ->
            let rng = Random(seed)
            Array2D.init rows dimension (fun _ _ -> sqrt (-2.0 * log (1.0 - rng.NextDouble())) * cos (2.0 * Math.PI * rng.NextDouble())))

/// Arbitrary instances for FsCheck's attributes: `[Property(Arbitrary = new[] { typeof(OtArbitraries) })]` gives
/// properties a `ProblemSample` parameter (n, m ≤ 9, d ≤ 4, ε from 0.01 to 1 × mean cost), shrunk on failure.
[<AbstractClass; Sealed>]
type OtArbitraries =
    static member ProblemSample() : Arbitrary<ProblemSample> = OtGenerators.Arbitrary(9, 4)
