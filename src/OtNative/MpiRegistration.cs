using OtNative.Core;

namespace OtNative;

/// <summary>
/// What <see cref="ComputeBackend.Mpi"/> routes to: a started <c>MpiSession</c> of the optional OtNative.Mpi package,
/// which has the MPI (MPI.NET on MPICH) that this assembly does not. The session registers itself when it starts
/// (<c>MpiSession.Start()</c>) and withdraws when it is disposed.
/// </summary>
internal interface IRegisteredMpiSession
{
    /// <summary>The backend that splits one problem's rows across the ranks.</summary>
    IBackend Backend { get; }

    /// <summary><see cref="EntropicOT.SolveBatch(IReadOnlyList{ValueTuple{double[,], double[,]}}, SinkhornOptions, bool, bool, IReadOnlyList{double[,]}, CgOptions, bool, CancellationToken)"/> spread across the ranks; rank 0 receives every item.</summary>
    BatchItem[] SolveBatch(IReadOnlyList<(double[,] X, double[,] Y)> problems, SinkhornOptions? options, bool gradients, bool hessians,
        IReadOnlyList<double[,]>? hvpDirections, CgOptions? cg, bool sharpValues, CancellationToken cancellationToken);

    /// <summary><see cref="EntropicOT.TrySolveBatch"/> spread across the ranks; rank 0 receives every outcome.</summary>
    BatchOutcome[] TrySolveBatch(IReadOnlyList<BatchProblem> problems, SinkhornOptions? options, bool gradients, bool hessians,
        IReadOnlyList<double[,]>? hvpDirections, CgOptions? cg, bool sharpValues, CancellationToken cancellationToken);
}

/// <summary>The MPI session this process has registered, if any (at most one: MPI starts once per process).</summary>
internal static class MpiRegistration
{
    private static IRegisteredMpiSession? current;

    /// <summary>Called by <c>MpiSession.Start()</c>.</summary>
    internal static void Register(IRegisteredMpiSession session) => Volatile.Write(ref current, session);

    /// <summary>Called by <c>MpiSession.Dispose()</c>; a session that is no longer the registered one changes nothing.</summary>
    internal static void Withdraw(IRegisteredMpiSession session) => Interlocked.CompareExchange(ref current, null, session);

    /// <summary>The registered session, for <see cref="ComputeBackend.Mpi"/>.</summary>
    /// <exception cref="NotSupportedException">None is registered: the OtNative.Mpi package is missing or its session was not started.</exception>
    internal static IRegisteredMpiSession Required => Volatile.Read(ref current) ?? throw new NotSupportedException(
        "ComputeBackend.Mpi needs MPI, which the OtNative package does not carry: add the OtNative.Mpi package and start an " +
        "MpiSession (MpiSession.Start()) in every rank of an mpiexec job.");
}
