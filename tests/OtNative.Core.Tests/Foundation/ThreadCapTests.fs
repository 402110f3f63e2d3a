/// Parallelism stays capped when the thread pool has grown: the solves' parallel loops must not take every thread the
/// pool offers. Alone in its collection, so that no other test's work items are counted.
module OtNative.Core.Tests.ThreadCapTests

open System
open System.Threading
open Xunit
open OtNative.Core
open OtNative.Core.Tests.Reference

[<CollectionDefinition("Thread pool", DisableParallelization = true)>]
type ThreadPoolCollection() = class end

/// The pool work items a solve of `iterations` Sinkhorn iterations on n × n points queues.
let private workItemsOfASolve (n: int) (iterations: int) =
    let rng = Random(40)
    let p = OtProblem.create (cloud rng n 2) (cloud rng n 2) None None
    let before = ThreadPool.CompletedWorkItemCount
    use plan = Sinkhorn.solve cpu p { SinkhornOptions.Default with Tolerance = 1e-300; MaxIterations = iterations }
    ThreadPool.CompletedWorkItemCount - before, plan.Solution.Passes

[<Collection("Thread pool")>]
type ThreadCap() =
    [<Fact>]
    member _.``a solve takes at most the capped number of workers from a pool that has grown under load`` () =
        // A pool that hands out 64 threads at once is what a loaded machine's pool grows to (208 threads were seen);
        // an uncapped parallel loop then runs a worker per thread, 64 work items a pass here.
        let workers, ports = ThreadPool.GetMinThreads()
        ThreadPool.SetMinThreads(64, ports) |> ignore
        try
            workItemsOfASolve 2000 3 |> ignore   // JIT and pool warm-up
            let items, passes = workItemsOfASolve 2000 10
            // At most degree − 1 helpers join the calling thread on each pass; a few more for the runtime's own work.
            let allowed = int64 passes * int64 ((Parallelism.degree ()) - 1) + 16L
            Assert.True(items <= allowed, sprintf "%d pool work items in %d passes (degree %d): more than %d" items passes (Parallelism.degree ()) allowed)
        finally
            ThreadPool.SetMinThreads(workers, ports) |> ignore
