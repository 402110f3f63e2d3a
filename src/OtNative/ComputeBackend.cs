using OtNative.Core;
using OtNative.Interop;

namespace OtNative;

/// <summary>Where the computation runs.</summary>
public enum ComputeBackend
{
    /// <summary>The CPU reference backend (SIMD, all cores). Always available.</summary>
    Cpu,
    /// <summary>An NVIDIA GPU through CUDA. Fails with <see cref="NotSupportedException"/> where it cannot run.</summary>
    Cuda,
    /// <summary>CUDA when it can run here, the CPU otherwise.</summary>
    Auto,
    /// <summary>
    /// The ranks of the started <c>MpiSession</c> (the optional OtNative.Mpi package: the OtNative package itself carries no
    /// MPI), each on its CPU, used in one of two ways by what is called. One
    /// problem (<see cref="EntropicOT.Solve(double[,], double[,], SinkhornOptions?, CancellationToken)"/> and its derivatives): the rows of
    /// x are split across the ranks, every rank makes the same calls with the same inputs and gets the same results. A
    /// batch (<see cref="EntropicOT.SolveBatch(IReadOnlyList{ValueTuple{double[,], double[,]}}, SinkhornOptions, bool, bool, IReadOnlyList{double[,]}, CgOptions, bool, CancellationToken)"/>): the problems are spread across the ranks, each solved whole by one rank,
    /// and rank 0 receives every item. Without a started session it fails with <see cref="NotSupportedException"/>.
    /// </summary>
    Mpi,
}

/// <summary>
/// The register width of the CPU backend's streamed kernels (float64 lanes: 8 at 512 bits). Results at different widths
/// agree to rounding (their sums are added in different orders); the width decides only the speed.
/// </summary>
public enum CpuVectorWidth
{
    /// <summary>The widest width this processor executes in hardware, or the one the OTNATIVE_SIMD variable names.</summary>
    Auto = 0,
    /// <summary>One float64 at a time: the scalar reference the vector widths are tested against.</summary>
    Scalar = 64,
    /// <summary>128-bit registers (2 × float64).</summary>
    Bits128 = 128,
    /// <summary>256-bit registers (AVX2: 4 × float64).</summary>
    Bits256 = 256,
    /// <summary>512-bit registers (AVX-512: 8 × float64). On a processor without AVX-512 it runs in software: correct and slow.</summary>
    Bits512 = 512,
}

/// <summary>Parses backend names and maps a <see cref="ComputeBackend"/> choice to a core backend, failing loudly instead of falling back silently.</summary>
public static class Backends
{
    /// <summary>Whether a CUDA device can be used here.</summary>
    public static bool IsCudaAvailable => CudaAvailable;

    /// <summary>The backend that <paramref name="choice"/> selects on this machine.</summary>
    /// <exception cref="NotSupportedException">CUDA was asked for and cannot run here; the message says why. Or MPI was asked
    /// for and no <c>MpiSession</c> (OtNative.Mpi) is started.</exception>
    internal static IBackend Resolve(ComputeBackend choice, CpuVectorWidth width = CpuVectorWidth.Auto) => choice switch
    {
        ComputeBackend.Cpu => Cpu(width),
        ComputeBackend.Auto => CudaAvailable ? CudaBackend.Instance : Cpu(width),
        ComputeBackend.Cuda => CudaAvailable ? CudaBackend.Instance : throw new NotSupportedException(CudaUnavailableReason()),
        ComputeBackend.Mpi => MpiRegistration.Required.Backend,
        _ => throw new ArgumentOutOfRangeException(nameof(choice), choice, "Unknown backend."),
    };

    /// <summary>
    /// The backend that <paramref name="choice"/> selects for <paramref name="problem"/>: <see cref="ComputeBackend.Auto"/>
    /// takes CUDA only when it supports the problem (device present, point clouds, d within the kernels' limit) and
    /// otherwise the CPU, saying why in <c>FallbackReason</c>.
    /// </summary>
    /// <exception cref="NotSupportedException">CUDA was asked for explicitly and cannot take this problem; the message says why.</exception>
    internal static (IBackend Backend, string? FallbackReason) Resolve(ComputeBackend choice, OtProblem problem,
        CpuVectorWidth width = CpuVectorWidth.Auto)
    {
        if (choice is ComputeBackend.Cpu or ComputeBackend.Mpi) return (Resolve(choice, width), null);
        IBackend cuda = CudaBackend.Instance;
        var support = cuda.Supports(problem);
        if (support is BackendSupport.Unsupported unsupported)
            return choice == ComputeBackend.Auto
                ? (Cpu(width), $"CPU instead of CUDA: {unsupported.reason}")
                : throw new NotSupportedException($"The CUDA backend cannot take this problem: {unsupported.reason}.");
        return (cuda, null);
    }

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<CpuVectorWidth, IBackend> CpuAtWidth = new();

    /// <summary>The CPU backend at <paramref name="width"/> (the shared instance for <see cref="CpuVectorWidth.Auto"/>).</summary>
    private static IBackend Cpu(CpuVectorWidth width) => width switch
    {
        CpuVectorWidth.Auto => CpuBackend.Instance,
        CpuVectorWidth.Scalar or CpuVectorWidth.Bits128 or CpuVectorWidth.Bits256 or CpuVectorWidth.Bits512 =>
            CpuAtWidth.GetOrAdd(width, w => new CpuBackend(LinearAlgebraProviders.preferred, (SimdWidth)(int)w)),
        // Every caller passes SinkhornOptions.VectorWidth: the error names that option.
        _ => throw new ArgumentOutOfRangeException(nameof(SinkhornOptions.VectorWidth), width, "Unknown CPU vector width: use Auto, Scalar, Bits128, Bits256 or Bits512."),
    };

    private static bool CudaAvailable => ((IBackend)CudaBackend.Instance).IsAvailable;

    /// <summary>Parses <c>cpu</c>, <c>cuda</c> or <c>auto</c> (case-insensitive); MPI is chosen by <c>--mpi</c>, not by name.</summary>
    /// <param name="name">The backend's name as the command line's <c>--backend</c> takes it.</param>
    /// <returns>The backend it names.</returns>
    /// <exception cref="ArgumentException">Not one of the three names.</exception>
    public static ComputeBackend Parse(string name) => name.ToLowerInvariant() switch
    {
        "cpu" => ComputeBackend.Cpu,
        "cuda" => ComputeBackend.Cuda,
        "auto" => ComputeBackend.Auto,
        _ => throw new ArgumentException($"Unknown backend '{name}': use cpu, cuda or auto.", nameof(name)),
    };

    private static string CudaUnavailableReason() => $"The CUDA backend cannot run here: {CudaDriverProbe.Probe().Reason}.";
}
