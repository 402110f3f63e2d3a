/// The per-pair contractions (`IPairContractions`, what the CUDA backend's derivative kernels compute) against the
/// moment path every other backend takes: an operator offering the reference contractions must give the same
/// gradients, HVPs, sharp gradients and dense Hessians as the plain one.
module OtNative.Core.Tests.PairContractionTests

open System
open Xunit
open OtNative.Core
open OtNative.Core.Tests.Reference
open OtNative.Core.Tests.Generators

/// The operator it wraps, with the reference pair contractions added — how the HVP and the dense Hessian see an
/// operator with kernels of its own.
type private WithPairContractions(inner: ITransportOperator) =
    let pairs = PairContractions.reference inner.Problem
    interface ITransportOperator with
        member _.Problem = inner.Problem
        member _.Backend = inner.Backend
        member _.Softmin(side, eps, other, result, cancellation) = inner.Softmin(side, eps, other, result, cancellation)
        member _.Apply(side, eps, f, g, v, costWeighted) = inner.Apply(side, eps, f, g, v, costWeighted)
        member _.Plan(eps, f, g) = inner.Plan(eps, f, g)
        member _.Dispose() = ()
    interface IPairContractions with
        member _.ContractRows(eps, f, g, w) = pairs.ContractRows(eps, f, g, w)
        member _.DotCols(eps, f, g, v) = pairs.DotCols(eps, f, g, v)
        member _.OuterRows(eps, f, g, a) = pairs.OuterRows(eps, f, g, a)
        member _.RBlock(eps, f, g, gOverR, scale) = pairs.RBlock(eps, f, g, gOverR, scale)

let private cgOptions = { CgOptions.Default with Tolerance = 1e-13; MaxIterations = 5000 }

[<ProblemProperty(25)>]
let ``the pair contractions give the moment path's HVPs, sharp gradient and dense Hessians`` (spec: ProblemSpec) =
    onEveryBackend <| fun backend ->
    let spec = { spec with EpsScale = max spec.EpsScale 0.05 }
    let p = spec.Problem
    let plain = Sinkhorn.solve backend p (tight (RelativeToMeanCost spec.EpsScale))
    let paired = new SolvedPlan(new WithPairContractions(plain.Operator), plain.Solution, false)
    whenConverged plain <| fun () ->
        let d = p.X.Cols
        let pairs = paired.Operator :?> IPairContractions
        // w = 1: the row mass and half the gradient, against the library's own streamed passes.
        let ones = pairs.ContractRows(plain.Epsilon, plain.F, plain.G, Matrix.Column(Array.create p.M 1.0))
        let gradient = Gradients.eot plain
        Assert.True(relativeError (Array.init p.N (fun i -> ones.[i, 0])) plain.RowMass < 1e-12, sprintf "%O: row mass" spec)
        Assert.True(relativeError (Array.init (p.N * d) (fun t -> 2.0 * ones.[t / d, 1 + t % d])) gradient.Data < 1e-10, sprintf "%O: gradient" spec)
        let rng = Random(spec.Seed)
        let directions = Array.init 3 (fun _ -> Matrix(p.N, d, Array.init (p.N * d) (fun _ -> gaussian rng)))
        let expected, _ = HessianOperator(plain, cgOptions).ApplyMany directions
        let actual, _ = HessianOperator(paired, cgOptions).ApplyMany directions
        for c in 0 .. 2 do
            let err = relativeError actual.[c].Data expected.[c].Data
            Assert.True(err < 1e-9, sprintf "%O: HVP %d differs by %g" spec c err)
        let sharpExpected, _ = HessianOperator(plain, cgOptions).SharpGradient()
        let sharpActual, _ = HessianOperator(paired, cgOptions).SharpGradient()
        Assert.True(relativeError sharpActual.Data sharpExpected.Data < 1e-9, sprintf "%O: sharp gradient" spec)
        for meth in [ Eigen; Schur ] do
            let o = { HessianOptions.Default with Method = meth }
            let err = relativeError (Hessian.compute paired o).Hessian.Data (Hessian.compute plain o).Hessian.Data
            Assert.True(err < 1e-10, sprintf "%O (%A): dense Hessian differs by %g" spec meth err)
