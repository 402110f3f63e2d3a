namespace OtNative.Core

open System
open System.Threading
open System.Threading.Tasks

/// How many threads the CPU work may use. Parallel loops are capped at this (by default the core count;
/// OTNATIVE_THREADS overrides it): uncapped, the thread pool keeps injecting threads while every core is busy —
/// a long solve under load grew to hundreds of threads and starved the solves beside it.
module Parallelism =
    /// OTNATIVE_THREADS when it is a positive integer, else the core count.
    let private fromEnvironment =
        match Int32.TryParse(Environment.GetEnvironmentVariable "OTNATIVE_THREADS") with
        | true, k when k > 0 -> k
        | _ -> Environment.ProcessorCount

    let mutable private cap = fromEnvironment

    /// The most threads CPU work uses now: OTNATIVE_THREADS, else the core count, unless `setDegree` changed it.
    let degree () = cap

    /// Caps CPU work at `threads` from the next parallel loop on (work already running keeps its cap).
    let setDegree (threads: int) =
        if threads < 1 then raise (ArgumentOutOfRangeException("threads", threads, "At least one thread."))
        cap <- threads

    /// Options for a parallel loop: capped at `degree ()`, cancelled by the token.
    let options (cancellation: CancellationToken) =
        ParallelOptions(MaxDegreeOfParallelism = degree (), CancellationToken = cancellation)

    /// Options for a loop that is not cancellable.
    let capped () = ParallelOptions(MaxDegreeOfParallelism = degree ())

    /// Runs a parallel loop and rethrows the first exception its body raised as itself, not wrapped in an
    /// AggregateException: an error raised inside — a user's cost that throws, a cost that is not finite — reaches the
    /// caller as it was raised.
    let run (loop: unit -> ParallelLoopResult) =
        try loop () |> ignore
        with :? AggregateException as e when e.InnerExceptions.Count > 0 ->
            Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerExceptions.[0]).Throw()
