using System.Reflection;
using System.Runtime.InteropServices;

namespace OtNative.Interop;

/// <summary>
/// MPI through the MPI.NET package on MPICH, loaded at run time: the one place of the OtNative.Mpi package that starts and
/// finalises it. MPI.NET imports <c>msmpi.dll</c> (Microsoft MPI); MS-MPI and MPICH share the handle ABI, so the import
/// is resolved to Debian's <c>libmpich.so.12</c>, found by OtNative.Interop's MPI.NET-free <see cref="MpiLibrary"/>.
/// Open MPI's ABI differs and is not supported. Without MPICH nothing here throws until <see cref="Start"/> is called.
/// </summary>
internal static class MpiRuntime
{
    private static readonly Lazy<bool> ResolverInstalled = new(() =>
    {
        NativeLibrary.SetDllImportResolver(typeof(MPI.Environment).Assembly, Resolve);
        return true;
    });

    /// <summary>
    /// Initialises MPI for this process (MPI_Init); dispose the result to finalise it, once, at the end of the
    /// process's MPI work. Outside <c>mpiexec</c> the process is a job of one rank.
    /// </summary>
    /// <exception cref="NotSupportedException">MPICH is not installed here; the message says what to install.</exception>
    public static MPI.Environment Start()
    {
        if (!MpiLibrary.IsAvailable) throw new NotSupportedException($"MPI is {MpiLibrary.Description}.");
        _ = ResolverInstalled.Value;
        var args = Array.Empty<string>();
        return new MPI.Environment(ref args);
    }

    /// <summary>
    /// Finalises MPI (MPI_Finalize) with this process's standard error captured meanwhile and written back without one
    /// line: MPICH's datatype engine (yaksa) reports there, on every successful run, the datatypes MPI.NET creates and
    /// never frees ("[WARNING] yaksa: 3 leaked handle pool objects", a line per rank). Everything else is kept.
    /// </summary>
    public static void FinalizeQuietly(MPI.Environment environment)
    {
        ArgumentNullException.ThrowIfNull(environment);
        var capture = Path.Combine(Path.GetTempPath(), $"otnative-finalize-{System.Environment.ProcessId}-{Guid.NewGuid():N}.log");
        int saved = Dup(2);
        // O_WRONLY | O_CREAT | O_TRUNC, mode 0600.
        int file = saved >= 0 ? Open(capture, 1 | 64 | 512, 0x180) : -1;
        if (file >= 0) Dup2(file, 2);
        try { environment.Dispose(); }
        finally
        {
            if (file >= 0)
            {
                Dup2(saved, 2);
                Close(file);
                foreach (var line in File.ReadLines(capture))
                    if (!(line.Contains("yaksa:", StringComparison.Ordinal) && line.Contains("leaked handle pool objects", StringComparison.Ordinal)))
                        Console.Error.WriteLine(line);
                File.Delete(capture);
            }
            if (saved >= 0) Close(saved);
        }
    }

    [DllImport("libc", EntryPoint = "dup")]
    private static extern int Dup(int fd);

    [DllImport("libc", EntryPoint = "dup2")]
    private static extern int Dup2(int fd, int target);

    [DllImport("libc", EntryPoint = "open")]
    private static extern int Open(string path, int flags, int mode);

    [DllImport("libc", EntryPoint = "close")]
    private static extern int Close(int fd);

    private static IntPtr Resolve(string name, Assembly assembly, DllImportSearchPath? path) =>
        name.StartsWith("msmpi", StringComparison.OrdinalIgnoreCase) ? MpiLibrary.Library?.Handle ?? IntPtr.Zero : IntPtr.Zero;
}
