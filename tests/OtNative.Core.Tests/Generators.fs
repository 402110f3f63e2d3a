/// FsCheck generators for random OT problems.
module OtNative.Core.Tests.Generators

open System
open FsCheck
open FsCheck.FSharp
open FsCheck.Xunit
open OtNative.Core
open OtNative.Testing

/// The recipe for one random problem: sizes, dimension, ε relative to the mean cost, weights.
type ProblemSpec =
    { Seed: int
      N: int
      M: int
      D: int
      EpsScale: float
      Uniform: bool }

    /// The recipe as the OtNative.Testing package draws it.
    member s.Sample = ProblemSample(s.Seed, s.N, s.M, s.D, s.EpsScale, s.Uniform)

    /// Builds the problem the recipe describes, deterministically.
    member s.Problem =
        let sample = s.Sample
        OtProblem.create (Matrix.OfArray2D sample.X) (Matrix.OfArray2D sample.Y) (Some sample.A) (Some sample.B)

    override s.ToString() =
        sprintf "n=%d m=%d d=%d eps=%.4g×mean cost uniform=%b seed=%d" s.N s.M s.D s.EpsScale s.Uniform s.Seed

/// Small problems (n, m ≤ 9, d ≤ 4, ε from 0.01 to 1 × mean cost, weights uniform or not): the
/// OtNative.Testing package's generator, as recipes the core tests can vary.
type SmallProblems =
    static member ProblemSpec() : Arbitrary<ProblemSpec> =
        OtGenerators.Problems(9, 4)
        |> Gen.map (fun s -> { Seed = s.Seed; N = s.N; M = s.M; D = s.Dimension; EpsScale = s.EpsilonScale; Uniform = s.UniformWeights })
        |> Arb.fromGen

/// A property over `SmallProblems` with `maxTest` passing draws, which fails when more than 5 % of its draws are
/// discarded (`OtConfig.MaxRejected`) — so a filter (`whenConverged`, `Prop.filter`) cannot hide a regression behind
/// discarded draws.
type ProblemPropertyAttribute(maxTest: int) as this =
    inherit PropertyAttribute()
    do
        this.MaxTest <- maxTest
        this.MaxRejected <- OtConfig.MaxRejected maxTest
        this.Arbitrary <- [| typeof<SmallProblems> |]
