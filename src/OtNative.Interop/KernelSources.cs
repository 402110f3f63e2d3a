using System.Reflection;

namespace OtNative.Interop;

/// <summary>The CUDA sources of <c>native/</c>, embedded in this assembly, and their compilation by NVRTC.</summary>
public static class KernelSources
{
    private static readonly Assembly Self = typeof(KernelSources).Assembly;

    private static string Read(string resource)
    {
        using var stream = Self.GetManifestResourceStream(resource) ?? throw new InvalidOperationException($"missing embedded resource {resource}");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    /// <summary>Kernel translation units (<c>*.cu</c>) by file name.</summary>
    public static IReadOnlyDictionary<string, string> Units =>
        Self.GetManifestResourceNames().Where(n => n.StartsWith("native/", StringComparison.Ordinal) && n.EndsWith(".cu", StringComparison.Ordinal))
            .ToDictionary(n => n["native/".Length..], Read);

    /// <summary>Headers (<c>*.h</c>, and the kernels' own <c>*.cuh</c>) by include name.</summary>
    public static IReadOnlyDictionary<string, string> Headers =>
        Self.GetManifestResourceNames().Where(n => n.StartsWith("native/", StringComparison.Ordinal) && (n.EndsWith(".h", StringComparison.Ordinal) || n.EndsWith(".cuh", StringComparison.Ordinal)))
            .ToDictionary(n => n["native/".Length..], Read);

    /// <summary>Every unit compiled to PTX for a virtual architecture (e.g. <c>compute_80</c>); throws <see cref="KernelCompileException"/> with the log.</summary>
    public static IReadOnlyDictionary<string, string> CompileAll(string architecture) =>
        Units.ToDictionary(u => u.Key, u => Nvrtc.CompileToPtx(u.Value, u.Key, Headers, architecture));
}
