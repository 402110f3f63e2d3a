using OtNative.Core;
using OtNative.Interop;

namespace OtNative;

/// <summary>
/// MPI for scale-out, on MPICH through MPI.NET, loaded at run time: the optional OtNative.Mpi package, which an
/// application adds beside OtNative only when it uses MPI (OtNative itself carries no MPI.NET). Without MPICH everything
/// else works and <see cref="IsAvailable"/> says false. Start one session per process, at most once (MPI cannot be
/// restarted after it is finalised), and run the program under <c>mpiexec -n K</c>; every rank must then make the same
/// calls with the same inputs, from one thread. Two ways to use the ranks: <see cref="SolveBatch(IReadOnlyList{ValueTuple{double[,], double[,]}}, SinkhornOptions, bool, bool, IReadOnlyList{double[,]}, CgOptions, bool, CancellationToken)"/> spreads a batch's
/// problems across them, and <see cref="ComputeBackend.Mpi"/> splits one problem's rows across them.
/// </summary>
public sealed class MpiSession : IDisposable
{
    private static readonly object Gate = new();
    private static MpiSession? current;
    private static bool finalised;
    private readonly MPI.Environment environment;
    private readonly MpiBackend backend;

    private readonly Route route;

    private MpiSession(MPI.Environment environment)
    {
        this.environment = environment;
        backend = MpiBackend.World();
        route = new Route(this);
    }

    /// <summary>Whether MPICH can be loaded here.</summary>
    public static bool IsAvailable => MpiLibrary.IsAvailable;

    /// <summary>The MPI library in use, or why MPI is unavailable.</summary>
    public static string Description => MpiLibrary.Description;

    /// <summary>The rank count of the <c>mpiexec</c> job this process runs in (1 outside one), without starting MPI.</summary>
    public static int LaunchedRanks => MpiLibrary.LaunchedRanks;

    /// <summary>
    /// Whether <paramref name="failure"/> means the input, the output or the machine is at fault rather than a computation
    /// (argument, format, I/O, access and out-of-memory errors): how <see cref="Agree"/> classifies a rank's failure
    /// (<see cref="MpiAgreementException.InputFault"/>), and what the <c>otnative</c> command exits 2 for.
    /// </summary>
    /// <param name="failure">The exception.</param>
    /// <returns>True for an input fault.</returns>
    public static bool IsInputFault(Exception failure) => MpiAgreement.IsInputFault(failure);

    /// <summary>The session this process started and has not disposed, or null.</summary>
    public static MpiSession? Current { get { lock (Gate) return current; } }

    /// <summary>
    /// Starts MPI for this process (MPI_Init) and registers the session with OtNative, which routes
    /// <see cref="ComputeBackend.Mpi"/> (<see cref="EntropicOT.Solve(double[,], double[,], SinkhornOptions?, CancellationToken)"/>,
    /// <see cref="EntropicOT.SolveBatch(IReadOnlyList{ValueTuple{double[,], double[,]}}, SinkhornOptions, bool, bool, IReadOnlyList{double[,]}, CgOptions, bool, CancellationToken)"/>, <see cref="EntropicOT.TrySolveBatch"/>) to it until it is disposed.
    /// </summary>
    /// <returns>The session, also <see cref="Current"/> until it is disposed; every rank must dispose it before exiting.</returns>
    /// <exception cref="NotSupportedException">MPICH is not installed here.</exception>
    /// <exception cref="InvalidOperationException">A session was already started in this process.</exception>
    public static MpiSession Start()
    {
        lock (Gate)
        {
            if (current is not null || finalised)
                throw new InvalidOperationException("MPI was already started in this process: use MpiSession.Current (MPI cannot be restarted once finalised).");
            current = new MpiSession(MpiRuntime.Start());
            MpiRegistration.Register(current.route);
            return current;
        }
    }

    /// <summary>This process's rank, 0 … <see cref="Size"/> − 1.</summary>
    public int Rank => backend.Rank;

    /// <summary>The number of ranks.</summary>
    public int Size => backend.Size;

    /// <summary>Whether this is rank 0, the one that receives gathered results and should write outputs.</summary>
    public bool IsRoot => Rank == 0;

    /// <summary>
    /// The collectives this rank has taken part in, and the float64 values it contributed to them, since the last
    /// <see cref="ResetTraffic"/>: what a distributed solve costs in communication.
    /// </summary>
    public (long Collectives, long Doubles) TrafficSinceReset => (backend.Traffic.Collectives, backend.Traffic.Doubles);

    /// <summary>Starts counting <see cref="TrafficSinceReset"/> afresh.</summary>
    public void ResetTraffic() => backend.Traffic.Reset();

    /// <summary>
    /// <see cref="EntropicOT.SolveBatch(IReadOnlyList{ValueTuple{double[,], double[,]}}, SinkhornOptions, bool, bool, IReadOnlyList{double[,]}, CgOptions, bool, CancellationToken)"/> across the ranks: the problems are assigned longest first to the least-loaded
    /// rank (work n·m), each rank solves its share on all its cores, and rank 0 receives every item in the problems' order.
    /// A failed problem does not stop the others or hang the job: rank 0 raises <see cref="BatchProblemException"/> for the
    /// first failed one after all have finished. Every rank must call this with the same arguments.
    /// </summary>
    /// <param name="problems">The problems as (x, y) pairs of point clouds (one point per row), the same on every rank.</param>
    /// <param name="options">The options of every solve, or null for <see cref="SinkhornOptions.Default"/>; each rank solves
    /// its share on its CPU at <see cref="SinkhornOptions.VectorWidth"/>.</param>
    /// <param name="gradients">Whether each item carries ∂L_ε/∂x (n×d). Default true.</param>
    /// <param name="hessians">Whether each item carries the dense Hessian ((n·d)×(n·d)). Default false.</param>
    /// <param name="hvpDirections">One direction (the shape of problem i's x) per problem for a Hessian-vector product, or null for none.</param>
    /// <param name="cg">The CG settings of those products, or null for <see cref="CgOptions.Default"/>.</param>
    /// <param name="sharpValues">Whether each item carries the sharp distance ⟨P, C⟩. Default false.</param>
    /// <param name="cancellationToken">Checked inside every solve of this rank.</param>
    /// <returns>On rank 0 the items in the problems' order; on the other ranks an empty array.</returns>
    public BatchItem[] SolveBatch(IReadOnlyList<(double[,] X, double[,] Y)> problems, SinkhornOptions? options = null,
        bool gradients = true, bool hessians = false, IReadOnlyList<double[,]>? hvpDirections = null, CgOptions? cg = null,
        bool sharpValues = false, CancellationToken cancellationToken = default)
    {
        options ??= SinkhornOptions.Default;
        return EntropicOT.Items(EntropicOT.TryBatch(Attempt(options), EntropicOT.AsBatchProblems(problems), options, gradients, hessians,
            hvpDirections, cg, sharpValues, cancellationToken, stopOnInvalid: true));
    }

    /// <summary>
    /// <see cref="EntropicOT.TrySolveBatch"/> across the ranks, as <see cref="SolveBatch(IReadOnlyList{ValueTuple{double[,], double[,]}}, SinkhornOptions, bool, bool, IReadOnlyList{double[,]}, CgOptions, bool, CancellationToken)"/> spreads them: rank 0 receives
    /// every problem's outcome, the other ranks an empty array. Every rank must call this with the same arguments.
    /// </summary>
    /// <param name="problems">The problems; each one's clouds and optional weights.</param>
    /// <param name="options">The options of every solve.</param>
    /// <param name="gradients">Whether each item carries ∂L_ε/∂x.</param>
    /// <param name="hessians">Whether each item carries the dense Hessian.</param>
    /// <param name="hvpDirections">One direction per problem for a Hessian-vector product, or null.</param>
    /// <param name="cg">The CG settings of those products.</param>
    /// <param name="sharpValues">Whether each item carries the sharp distance ⟨P, C⟩.</param>
    /// <param name="cancellationToken">Checked inside every solve.</param>
    /// <returns>On rank 0 one outcome per problem, in the problems' order; on the other ranks an empty array.</returns>
    public BatchOutcome[] TrySolveBatch(IReadOnlyList<BatchProblem> problems, SinkhornOptions? options = null,
        bool gradients = true, bool hessians = false, IReadOnlyList<double[,]>? hvpDirections = null, CgOptions? cg = null,
        bool sharpValues = false, CancellationToken cancellationToken = default)
    {
        options ??= SinkhornOptions.Default;
        return EntropicOT.TryBatch(Attempt(options), problems, options, gradients, hessians, hvpDirections, cg, sharpValues, cancellationToken);
    }

    /// <summary>The batch's solves across the ranks, each rank's share on its own cores: <see cref="ComputeBackend.Mpi"/>
    /// here means "across the ranks", i.e. the CPU on each.</summary>
    private static Func<OtProblem[], Core.SinkhornOptions, BatchRequest, Microsoft.FSharp.Core.FSharpResult<Core.BatchItem, Exception>[]> Attempt(SinkhornOptions options)
    {
        var local = Backends.Resolve(options.Backend == ComputeBackend.Mpi ? ComputeBackend.Cpu : options.Backend, options.VectorWidth);
        return (core, opts, request) => MpiBatch.attempt(MPI.Communicator.world, local, core, opts, request);
    }

    /// <summary>
    /// Checks, on every rank at once and before any distributed work, that the ranks are ready for the same work. Each rank
    /// passes labelled digests of its inputs and options (equal data give equal digests, whatever path they were read
    /// from) and the exception its preparation failed with, or null. Where a rank failed, or a rank's digests differ from
    /// rank 0's, every rank throws the same <see cref="MpiAgreementException"/>: one rank does not stop while the others
    /// wait in a collective forever, and ranks never combine different data into a wrong answer. Every rank must call it.
    /// </summary>
    /// <param name="digests">This rank's (label, digest) pairs, in the same order on every rank; empty when <paramref name="failure"/> is set.</param>
    /// <param name="failure">Why this rank could not prepare its work, or null.</param>
    /// <exception cref="MpiAgreementException">A rank failed (the lowest such rank, with its message), or the digests differ (the first differing label and rank).</exception>
    public void Agree(IReadOnlyList<(string Label, ulong Digest)> digests, Exception? failure)
    {
        ArgumentNullException.ThrowIfNull(digests);
        var world = MPI.Communicator.world;
        var mine = MpiAgreement.Encode(digests, failure);
        var lengths = world.Allgather(mine.Length);
        var all = new double[lengths.Sum()];
        world.AllgatherFlattened(mine, lengths, ref all);
        if (MpiAgreement.Verdict(all, lengths, digests, Size) is { } disagreement) throw disagreement;
    }

    /// <summary>
    /// Ends every rank of the job at once with <paramref name="exitCode"/> (MPI_Abort): for a failure on one rank that the
    /// others, waiting in a collective, cannot see. MPICH prints a line of its own saying which rank aborted.
    /// </summary>
    /// <param name="exitCode">The exit status every process of the job ends with.</param>
    public void Abort(int exitCode) => MPI.Communicator.world.Abort(exitCode);

    /// <summary>Finalises MPI (MPI_Finalize); every rank must dispose its session.</summary>
    public void Dispose()
    {
        lock (Gate)
        {
            if (current != this) return;
            MpiRegistration.Withdraw(route);
            MpiRuntime.FinalizeQuietly(environment);
            current = null;
            finalised = true;
        }
    }

    /// <summary>What OtNative routes <see cref="ComputeBackend.Mpi"/> to while this session is started.</summary>
    private sealed class Route(MpiSession session) : IRegisteredMpiSession
    {
        public IBackend Backend => session.backend;

        public BatchItem[] SolveBatch(IReadOnlyList<(double[,] X, double[,] Y)> problems, SinkhornOptions? options, bool gradients,
            bool hessians, IReadOnlyList<double[,]>? hvpDirections, CgOptions? cg, bool sharpValues, CancellationToken cancellationToken) =>
            session.SolveBatch(problems, options, gradients, hessians, hvpDirections, cg, sharpValues, cancellationToken);

        public BatchOutcome[] TrySolveBatch(IReadOnlyList<BatchProblem> problems, SinkhornOptions? options, bool gradients,
            bool hessians, IReadOnlyList<double[,]>? hvpDirections, CgOptions? cg, bool sharpValues, CancellationToken cancellationToken) =>
            session.TrySolveBatch(problems, options, gradients, hessians, hvpDirections, cg, sharpValues, cancellationToken);
    }
}
