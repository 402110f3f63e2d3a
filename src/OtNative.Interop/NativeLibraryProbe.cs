using System.Runtime.InteropServices;

namespace OtNative.Interop;

/// <summary>A native library found at run time, with the name it was loaded under.</summary>
/// <param name="Handle">The OS handle from <see cref="NativeLibrary"/>; never freed (libraries stay loaded for the process).</param>
/// <param name="Name">The candidate name that loaded.</param>
public sealed record LoadedLibrary(IntPtr Handle, string Name)
{
    /// <summary>Address of an exported symbol, or <see cref="IntPtr.Zero"/> when it is absent.</summary>
    public IntPtr Export(string symbol) => NativeLibrary.TryGetExport(Handle, symbol, out var address) ? address : IntPtr.Zero;
}

/// <summary>
/// Finds native libraries through versioned candidate lists, the way Math.NET picks its native
/// providers: the first candidate that loads wins, and nothing throws when none does.
/// </summary>
public static class NativeLibraryProbe
{
    /// <summary>Tries each candidate in order; returns null when none loads.</summary>
    public static LoadedLibrary? TryLoad(IEnumerable<string> candidates)
    {
        foreach (var name in candidates)
        {
            if (NativeLibrary.TryLoad(name, out var handle))
                return new LoadedLibrary(handle, name);
        }
        return null;
    }
}
