using OtNative.Core;
using OtNative.Interop;

namespace OtNative;

/// <summary>
/// What this machine and process give OtNative, as <c>otnative info</c> prints it: the CPU backend and its SIMD width,
/// the threads, the dense linear algebra provider (native LAPACK/BLAS, or the slower managed Math.NET fallback and why),
/// the CUDA driver, devices and libraries, and MPI.
/// </summary>
/// <param name="Version">OtNative's version as packed (0.4.0-dev.&lt;commit&gt; from a repository build).</param>
/// <param name="DotNet">The .NET runtime version.</param>
/// <param name="CpuBackend">The CPU backend's description (threads, SIMD width, linear algebra).</param>
/// <param name="SimdWidth">The width the CPU kernels run at (<c>512</c>, <c>256</c>, <c>128</c> or <c>scalar</c>), the processor's or OTNATIVE_SIMD's.</param>
/// <param name="WidestHardwareSimdWidth">The widest width this processor executes in hardware.</param>
/// <param name="Threads">The most threads the CPU work uses (the cores, or OTNATIVE_THREADS).</param>
/// <param name="LinearAlgebra">The dense linear algebra provider in use.</param>
/// <param name="NativeLinearAlgebra">Whether it is the native LAPACK/BLAS (else the managed Math.NET fallback, 8–20× slower for dense Hessians).</param>
/// <param name="NativeLinearAlgebraStatus">The native libraries found, or why they were not.</param>
/// <param name="CudaDriver">The CUDA driver and device count, or why it is unavailable.</param>
/// <param name="CudaDevices">One line per device: name, compute capability, memory, multiprocessors.</param>
/// <param name="CudaBackend">The CUDA backend's description.</param>
/// <param name="Nvrtc">The NVRTC library (run-time kernel compilation), or why it is missing.</param>
/// <param name="CuBlas">The cuBLAS library, or the candidates that were not found.</param>
/// <param name="CuSolver">The cuSOLVER library, or the candidates that were not found.</param>
/// <param name="Mpi">The MPI library and this job's rank count, or why MPI is unavailable.</param>
public sealed record OtNativeEnvironment(string Version, string DotNet, string CpuBackend, string SimdWidth, string WidestHardwareSimdWidth,
    int Threads, string LinearAlgebra, bool NativeLinearAlgebra, string NativeLinearAlgebraStatus, string CudaDriver, IReadOnlyList<string> CudaDevices,
    string CudaBackend, string Nvrtc, string CuBlas, string CuSolver, string Mpi)
{
    /// <summary>
    /// The most threads OtNative's CPU work uses (by default the core count, or the OTNATIVE_THREADS variable); set it
    /// to share the machine with other work. It applies from the next parallel loop on.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Set below 1.</exception>
    public static int MaxThreads
    {
        get => Parallelism.degree();
        set => Parallelism.setDegree(value);
    }

    /// <summary>
    /// Measures the rate of the dense linear algebra provider (<see cref="LinearAlgebra"/>) on a symmetric rank-k update
    /// (SYRK), the core of the dense Hessian: the Gram AᵀA of a <paramref name="size"/> × <paramref name="size"/> matrix,
    /// best of three, counted as size²(size + 1) flops.
    /// </summary>
    /// <param name="size">The matrix's side (1 000 takes well under a second with a native BLAS).</param>
    /// <returns>GFLOP/s.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="size"/> is below 1 or above 46 340 (size² must be an array length).</exception>
    /// <exception cref="InsufficientMemoryException">The matrix and its Gram (16·size² bytes) cannot fit.</exception>
    public static double MeasureGramGflops(int size = 1000)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(size, 1);
        // size² overflowed int past 46 340 (100 001 asked for 11 GB and the process was killed without a word).
        ArgumentOutOfRangeException.ThrowIfGreaterThan(size, 46_340);
        var bytes = 16.0 * size * size;   // the matrix and its Gram
        var available = (double)GC.GetGCMemoryInfo().TotalAvailableMemoryBytes - GC.GetTotalMemory(false);
        if (bytes > available)
            throw new InsufficientMemoryException(
                $"MeasureGramGflops({size}) needs about {bytes / 1073741824.0:G3} GiB but {Math.Max(0, available) / 1073741824.0:G3} GiB are available: use a smaller size (1 000 is enough).");
        var rng = new Random(5);
        var a = new Core.Matrix(size, size, Enumerable.Range(0, size * size).Select(_ => rng.NextDouble()).ToArray());
        var la = ((IBackend)Core.CpuBackend.Instance).LinearAlgebra;
        var best = double.PositiveInfinity;
        for (int i = 0; i < 3; i++)
        {
            var sw = System.Diagnostics.Stopwatch.StartNew();
            la.Gram(a, true);
            best = Math.Min(best, sw.Elapsed.TotalSeconds);
        }
        return (double)size * (size + 1) * size / best / 1e9;
    }

    /// <summary>Describes this machine and process now (probes the CUDA driver and the native libraries once).</summary>
    /// <returns>The description; <see cref="Rows"/> gives it as <c>otnative info</c> prints it.</returns>
    public static OtNativeEnvironment Describe()
    {
        var cpu = Core.CpuBackend.Instance;
        var cuda = CudaDriverProbe.Probe();
        string Library(string logical) =>
            NativeResolver.Get(logical)?.Name ?? "not found (" + string.Join(", ", NativeResolver.Candidates[logical]) + ")";
        return new OtNativeEnvironment(
            typeof(EntropicOT).Assembly.GetCustomAttributes(typeof(System.Reflection.AssemblyInformationalVersionAttribute), false)
                .OfType<System.Reflection.AssemblyInformationalVersionAttribute>().FirstOrDefault()?.InformationalVersion
                ?? typeof(EntropicOT).Assembly.GetName().Version?.ToString() ?? "?",
            Environment.Version.ToString(),
            ((IBackend)cpu).Description,
            Simd.name(cpu.Width),
            Simd.name(Simd.widest),
            Parallelism.degree(),
            ((IBackend)cpu).LinearAlgebra.Name,
            LinearAlgebraProviders.native is not null,
            NativeLapack.Description,
            cuda.Available
                ? $"{cuda.DeviceCount} device(s), driver API {cuda.DriverVersion / 1000}.{cuda.DriverVersion % 1000 / 10}"
                : $"unavailable: {cuda.Reason}",
            CudaContext.Devices().Select(d => $"{d.Name}, compute {d.ComputeMajor}.{d.ComputeMinor}, {d.TotalMemoryBytes / 1073741824.0:F1} GiB, {d.Multiprocessors} SMs").ToArray(),
            ((IBackend)Core.CudaBackend.Instance).Description,
            Interop.Nvrtc.Description,
            Library(Interop.CuBlas.Library),
            Library(Interop.CuSolver.Library),
            MpiLibrary.IsAvailable
                ? $"{MpiLibrary.Description}; this job: {MpiLibrary.LaunchedRanks} rank(s) (--mpi under mpiexec -n K)"
                  + (MpiPackagePresent ? "" : "; ComputeBackend.Mpi needs the OtNative.Mpi package, which this application lacks")
                : MpiLibrary.Description);
    }

    /// <summary>Whether the optional OtNative.Mpi package (its assembly) is part of this application.</summary>
    private static bool MpiPackagePresent
    {
        get
        {
            try { return Type.GetType("OtNative.MpiSession, OtNative.Mpi", throwOnError: false) is not null; }
            catch (Exception e) when (e is IOException or BadImageFormatException) { return false; }
        }
    }

    /// <summary>The description as (component, status) rows, in the order <c>otnative info</c> prints them.</summary>
    /// <returns>One row per component: OtNative, .NET, the CPU backend, SIMD, linear algebra, CUDA (driver, each device, backend, libraries) and MPI.</returns>
    public IReadOnlyList<(string Component, string Status)> Rows()
    {
        var forced = Environment.GetEnvironmentVariable("OTNATIVE_SIMD") is { Length: > 0 } value ? $"; OTNATIVE_SIMD={value}" : "";
        var rows = new List<(string, string)>
        {
            ("OtNative", Version),
            (".NET", DotNet),
            ("cpu backend", CpuBackend),
            ("simd", $"kernels at {Simd.describe(Core.CpuBackend.Instance.Width)}; widest the processor runs: {WidestHardwareSimdWidth}{forced}"),
            ("linear algebra", LinearAlgebra + (NativeLinearAlgebra ? "" : $" — native unavailable: {NativeLinearAlgebraStatus}")),
            ("cuda driver", CudaDriver),
        };
        rows.AddRange(CudaDevices.Select((device, i) => ($"cuda device {i}", device)));
        rows.Add(("cuda backend", CudaBackend));
        rows.Add(("nvrtc", Nvrtc));
        rows.Add(("cublas", CuBlas));
        rows.Add(("cusolver", CuSolver));
        rows.Add(("mpi", Mpi));
        return rows;
    }
}
