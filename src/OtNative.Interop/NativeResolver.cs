using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace OtNative.Interop;

/// <summary>
/// The one DllImport resolver of this assembly (.NET allows one per assembly): maps each logical library name
/// used in a <c>[DllImport]</c> to the first of its versioned candidates that loads, once, on first use.
/// </summary>
public static class NativeResolver
{
    /// <summary>Logical name → candidates, most specific first.</summary>
    public static readonly IReadOnlyDictionary<string, string[]> Candidates = new Dictionary<string, string[]>
    {
        [NativeLapack.LapackeName] = ["liblapacke.so.3", "liblapacke.so", "liblapacke.dylib"],
        [NativeLapack.CblasName] = ["libopenblas.so.0", "libopenblas.so", "libcblas.so.3", "libblas.so.3"],
        [CudaDriver.Library] = ["libcuda.so.1", "libcuda.so", "nvcuda.dll"],
        [Nvrtc.Library] = ["libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so.11.2", "libnvrtc.so"],
        [CuBlas.Library] = ["libcublas.so.13", "libcublas.so.12", "libcublas.so.11", "libcublas.so"],
        [CuSolver.Library] = ["libcusolver.so.12", "libcusolver.so.11", "libcusolver.so"],
    };

    private static readonly Dictionary<string, Lazy<LoadedLibrary?>> Loaded =
        Candidates.ToDictionary(kv => kv.Key, kv => new Lazy<LoadedLibrary?>(() => NativeLibraryProbe.TryLoad(kv.Value)));

    // A library registering its own resolver is the one case a module initializer is for: it must run before the
    // first DllImport of this assembly binds, whichever entry point the application uses.
    [ModuleInitializer]
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Usage", "CA2255", Justification = "The resolver must be registered before any DllImport of this assembly binds.")]
    internal static void Register() => NativeLibrary.SetDllImportResolver(typeof(NativeResolver).Assembly, Resolve);

    /// <summary>The library behind a logical name, or null when no candidate loads here.</summary>
    public static LoadedLibrary? Get(string logicalName) => Loaded[logicalName].Value;

    private static IntPtr Resolve(string name, Assembly assembly, DllImportSearchPath? path) =>
        Loaded.TryGetValue(name, out var lib) ? lib.Value?.Handle ?? IntPtr.Zero : IntPtr.Zero;
}
