/// The problem properties (`ProblemProperty`) outside xunit, for the processes of an mpiexec job: `dotnet test` cannot
/// run one test process a rank. `OtNative.DeviceRunner properties` calls `run`; in a job of two or more ranks every
/// property runs on the MPI backend, elsewhere on the local backends (so the GPU machine runs them on CUDA too).
module OtNative.Core.Tests.DistributedProperties

open System
open System.Diagnostics
open System.Reflection
open FsCheck
open OtNative
open OtNative.Core
open OtNative.Core.Tests.Reference
open OtNative.Core.Tests.Generators

/// The ProblemProperty methods whose "Module.name" contains one of the filters (all when none), in one order on every
/// rank: the ranks' collectives must pair up.
let private properties (filters: string[]) =
    Assembly.GetExecutingAssembly().GetTypes()
    |> Seq.collect (fun t -> t.GetMethods(BindingFlags.Public ||| BindingFlags.Static))
    |> Seq.choose (fun m ->
        m.GetCustomAttribute<ProblemPropertyAttribute>()
        |> Option.ofObj
        |> Option.map (fun attribute -> sprintf "%s.%s" m.DeclaringType.Name m.Name, m, attribute))
    |> Seq.filter (fun (name, _, _) -> filters.Length = 0 || filters |> Array.exists (fun f -> name.Contains(f, StringComparison.Ordinal)))
    |> Seq.sortBy (fun (name, _, _) -> name)
    |> List.ofSeq

/// FsCheck's configuration for one property: the attribute's counts and generators, and the run's seed, so that every
/// rank draws the same problems.
let private configOf (attribute: ProblemPropertyAttribute) (seed: uint64) =
    Config.QuickThrowOnFailure
        .WithMaxTest(attribute.MaxTest)
        .WithMaxRejected(attribute.MaxRejected)
        .WithArbitrary(attribute.Arbitrary)
        .WithQuietOnSuccess(true)
        .WithReplay(Some { Rnd = Rnd(seed); Size = None })

/// OTNATIVE_PROPERTY_SEED when set (to replay a run), else a fresh one — rank 0's, broadcast to the others.
let private sharedSeed (world: MPI.Intracommunicator option) =
    let mutable seed =
        match UInt64.TryParse(Environment.GetEnvironmentVariable "OTNATIVE_PROPERTY_SEED") with
        | true, s -> s
        | _ -> uint64 (Random.Shared.NextInt64())
    world |> Option.iter (fun comm -> comm.Broadcast(&seed, 0))
    seed

/// Runs the properties the filters select, printing a line each (rank 0; failures on every rank), and returns the
/// passed and failed counts.
let run (filters: string[]) : int * int =
    let session = if MpiSession.IsAvailable && MpiSession.LaunchedRanks >= 2 then Some (MpiSession.Start()) else None
    try
        let world = session |> Option.map (fun _ -> MPI.Communicator.world)
        let rank = world |> Option.map (fun c -> c.Rank) |> Option.defaultValue 0
        distributedBackend <- world |> Option.map (fun c -> MpiBackend(c, CpuBackend.Instance) :> IBackend)
        let seed = sharedSeed world
        let backendNames =
            match distributedBackend with
            | Some b -> b.Description
            | None -> localBackends |> List.map (fun b -> b.Name) |> String.concat ", "
        if rank = 0 then printfn "properties on %s; seed %d (replay: OTNATIVE_PROPERTY_SEED=%d)" backendNames seed seed
        let mutable passed, failed = 0, 0
        for name, method, attribute in properties filters do
            let clock = Stopwatch.StartNew()
            try
                Check.Method(configOf attribute seed, method, None)
                passed <- passed + 1
                if rank = 0 then printfn "PASS %s (%.2f s)" name clock.Elapsed.TotalSeconds
            with e ->
                failed <- failed + 1
                let cause = match e with :? TargetInvocationException as t when not (isNull t.InnerException) -> t.InnerException | _ -> e
                printfn "FAIL %s (rank %d, %.2f s): %s" name rank clock.Elapsed.TotalSeconds (cause.Message.TrimEnd())
        match distributedBackend with
        | Some (:? MpiBackend as mpi) when rank = 0 ->
            printfn "the MPI backend's operators called %d collectives (%d doubles from this rank)" mpi.Traffic.Collectives mpi.Traffic.Doubles
        | _ -> ()
        passed, failed
    finally
        distributedBackend <- None
        // Finalises MPI, without MPICH's line about MPI.NET's leaked datatypes.
        session |> Option.iter (fun s -> s.Dispose())
