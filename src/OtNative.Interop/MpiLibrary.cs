namespace OtNative.Interop;

/// <summary>
/// Whether MPICH can be loaded here, found without MPI.NET: what <c>OtNativeEnvironment</c> and <c>otnative info</c>
/// report, in the OtNative package, which carries no MPI. MPI itself (MPI.NET on this library) is the optional OtNative.Mpi
/// package's: its <c>MpiRuntime</c> resolves MPI.NET's <c>msmpi.dll</c> import to <see cref="Library"/>. MS-MPI and MPICH
/// share the handle ABI; Open MPI's differs and is not supported.
/// </summary>
public static class MpiLibrary
{
    /// <summary>The MPICH libraries tried, most specific first.</summary>
    public static readonly string[] Candidates = ["libmpich.so.12", "libmpich.so"];

    private static readonly Lazy<LoadedLibrary?> Loaded = new(() => NativeLibraryProbe.TryLoad(Candidates));

    /// <summary>MPICH, loaded on first use; null where none of <see cref="Candidates"/> loads.</summary>
    public static LoadedLibrary? Library => Loaded.Value;

    /// <summary>Whether MPICH can be loaded here.</summary>
    public static bool IsAvailable => Library is not null;

    /// <summary>The library in use, or why MPI is unavailable.</summary>
    public static string Description => Library is { } lib
        ? $"MPICH ({lib.Name})"
        : $"not available: none of {string.Join(", ", Candidates)} loads (apt-get install mpich)";

    /// <summary>The rank count of the <c>mpiexec</c> job this process was started in (MPICH's <c>PMI_SIZE</c>); 1 outside one.</summary>
    public static int LaunchedRanks =>
        int.TryParse(System.Environment.GetEnvironmentVariable("PMI_SIZE"), out var size) && size > 0 ? size : 1;
}
