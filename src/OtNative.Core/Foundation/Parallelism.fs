namespace OtNative.Core

open System
open System.Threading
open System.Threading.Tasks

/// How many threads the CPU work may use. Parallel loops are capped at this (by default the core count;
/// OTNATIVE_THREADS overrides it): uncapped, the thread pool keeps injecting threads while every core is busy —
/// a long solve under load grew to hundreds of threads and starved the solves beside it.
module Parallelism =
    /// OTNATIVE_THREADS when it is a positive integer, else the core count.
    let degree =
        match Int32.TryParse(Environment.GetEnvironmentVariable "OTNATIVE_THREADS") with
        | true, k when k > 0 -> k
        | _ -> Environment.ProcessorCount

    /// Options for a parallel loop: capped at `degree`, cancelled by the token.
    let options (cancellation: CancellationToken) =
        ParallelOptions(MaxDegreeOfParallelism = degree, CancellationToken = cancellation)

    /// Options for a loop that is not cancellable.
    let capped = ParallelOptions(MaxDegreeOfParallelism = degree)
