/// Batches solved in lockstep (`Lockstep.solveLockstep`, what `Batch` does on a batching backend such as CUDA), through
/// a CPU backend whose batched half-step is each problem's own: the answers must be the per-problem solves' exactly.
module OtNative.Core.Tests.LockstepTests

open System
open System.Threading
open Xunit
open OtNative
open OtNative.Core
open OtNative.Core.Tests.Reference

/// A batched half-step that runs each problem's own operator: the semantics a batched kernel must reproduce.
type private HalfStepsOneByOne(operators: ITransportOperator[]) =
    interface IBatchedHalfStep with
        member _.Softmin(side, eps, others, results) =
            operators |> Array.iteri (fun k o -> o.Softmin(side, eps.[k], others.[k], results.[k], CancellationToken.None))
        member _.Dispose() = for o in operators do o.Dispose()

/// The CPU backend, offering batched half-steps.
type private BatchingCpu() =
    interface IBackend with
        member _.Name = "cpu-batching"
        member _.IsAvailable = true
        member _.Description = "the CPU backend with half-steps batched one problem after another"
        member _.LinearAlgebra = cpu.LinearAlgebra
        member _.Supports problem = cpu.Supports problem
        member _.Prepare problem = cpu.Prepare problem
    interface IBatchingBackend with
        member _.PrepareBatch problems = new HalfStepsOneByOne(problems |> Array.map cpu.Prepare) :> IBatchedHalfStep

let private batchOf seed count =
    let rng = Random(seed: int)
    Array.init count (fun _ ->
        let n, m = rng.Next(1, 40), rng.Next(1, 40)
        OtProblem.create (cloud rng n 2) (cloud rng m 2) (Some (weights rng n false)) (Some (weights rng m false)))

[<Fact>]
let ``a batch in lockstep returns each problem's own solve, gradient and HVP exactly`` () =
    let problems = batchOf 11 12
    let rng = Random(12)
    let directions = problems |> Array.map (fun p -> Matrix(p.N, 2, Array.init (p.N * 2) (fun _ -> gaussian rng)))
    let request = { BatchRequest.Default with HvpDirections = Some directions }
    let reports = Collections.Concurrent.ConcurrentBag<int>()
    let opts = { SinkhornOptions.Default with Tolerance = 1e-10; MaxIterations = 20_000; ProgressInterval = 1; Progress = Some (fun p -> reports.Add p.ProblemIndex) }
    let lockstep = Batch.solve (BatchingCpu()) problems opts request
    let single = Batch.solve cpu problems { opts with Progress = None } request
    for k in 0 .. problems.Length - 1 do
        let a, b = lockstep.[k], single.[k]
        Assert.Equal(b.Solution.Iterations, a.Solution.Iterations)
        Assert.Equal(b.Solution.Value, a.Solution.Value)
        Assert.Equal(b.Solution.MarginalError, a.Solution.MarginalError)
        Assert.Equal<float[]>(b.Solution.F, a.Solution.F)
        Assert.Equal<float[]>(b.Gradient.Value.Data, a.Gradient.Value.Data)
        Assert.Equal<float[]>(b.HessianVectorProduct.Value.Data, a.HessianVectorProduct.Value.Data)
    // One report an iteration of each problem, each with its index.
    Assert.Equal(lockstep |> Array.sumBy (fun item -> item.Solution.Iterations), reports.Count)
    Assert.All(reports, fun i -> Assert.InRange(i, 0, problems.Length - 1))

[<Fact>]
let ``in lockstep a problem that fails is reported by itself and the others finish`` () =
    // A single source point converges in the first iteration; 40 × 40 clouds at ε = 0.01 × mean cost need far more
    // than the cap, and fail their convergence requirement, each on its own.
    let rng = Random(13)
    let problems =
        Array.append [| OtProblem.create (cloud rng 1 2) (cloud rng 5 2) None None |]
            (Array.init 3 (fun _ -> OtProblem.create (cloud rng 40 2) (cloud rng 40 2) None None))
    let opts = { SinkhornOptions.Default with Epsilon = RelativeToMeanCost 0.01; Tolerance = 1e-9; MaxIterations = 20; RequireConvergence = true }
    let single = Batch.attempt cpu problems opts BatchRequest.Default
    let lockstep = Batch.attempt (BatchingCpu()) problems opts BatchRequest.Default
    Assert.True(Result.isOk single.[0])
    Assert.All(single.[1..], fun r -> Assert.True(Result.isError r))
    for k in 0 .. problems.Length - 1 do
        match single.[k], lockstep.[k] with
        | Ok a, Ok b -> Assert.Equal(a.Solution.Value, b.Solution.Value)
        | Error a, Error b ->
            Assert.IsType<SinkhornConvergenceException>(b) |> ignore
            Assert.Equal(a.Message, b.Message)
        | a, b -> failwithf "problem %d: %A alone, %A in lockstep" k a b

[<Fact>]
let ``options the batched half-step cannot run keep the per-problem path`` () =
    Assert.True(Lockstep.isLockstep SinkhornOptions.Default)
    Assert.False(Lockstep.isLockstep { SinkhornOptions.Default with Anneal = true })
    Assert.False(Lockstep.isLockstep { SinkhornOptions.Default with Solver = ForwardSolver.Lbfgs })
    Assert.False(Lockstep.isLockstep { SinkhornOptions.Default with Initializer = Initializer.Gaussian })
    let ex = Assert.Throws<ArgumentException>(fun () -> Lockstep.solveLockstep cpu (BatchingCpu()) (batchOf 14 2) { SinkhornOptions.Default with Anneal = true } |> ignore)
    Assert.Equal("options", ex.ParamName)
