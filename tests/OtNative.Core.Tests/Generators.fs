/// FsCheck generators for random OT problems.
module OtNative.Core.Tests.Generators

open System
open FsCheck
open FsCheck.FSharp
open OtNative.Core

/// The recipe for one random problem: sizes, dimension, ε relative to the mean cost, weights.
type ProblemSpec =
    { Seed: int
      N: int
      M: int
      D: int
      EpsScale: float
      Uniform: bool }

    /// Builds the problem the recipe describes, deterministically.
    member s.Problem =
        let rng = Random(s.Seed)
        let x = Reference.cloud rng s.N s.D
        let y = Reference.cloud rng s.M s.D
        OtProblem.create x y (Some(Reference.weights rng s.N s.Uniform)) (Some(Reference.weights rng s.M s.Uniform))

    override s.ToString() =
        sprintf "n=%d m=%d d=%d eps=%.4g×mean cost uniform=%b seed=%d" s.N s.M s.D s.EpsScale s.Uniform s.Seed

/// Small problems (n, m ≤ 9, d ≤ 4, ε from 0.01 to 1 × mean cost, weights uniform or not).
type SmallProblems =
    static member ProblemSpec() : Arbitrary<ProblemSpec> =
        gen {
            let! seed = Gen.choose (0, Int32.MaxValue - 1)
            let! n = Gen.choose (1, 9)
            let! m = Gen.choose (1, 9)
            let! d = Gen.choose (1, 4)
            let! t = Gen.choose (0, 1000)
            let! uniform = Gen.elements [ true; false ]
            return { Seed = seed; N = n; M = m; D = d; EpsScale = 10.0 ** (-2.0 + 2.0 * float t / 1000.0); Uniform = uniform }
        }
        |> Arb.fromGen
