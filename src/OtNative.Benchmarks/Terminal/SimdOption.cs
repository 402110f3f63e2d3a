namespace OtNative.Terminal;

/// <summary>The <c>--simd</c> option of the CPU benchmarks: SIMD widths by name (512, 256, 128, scalar).</summary>
public static class SimdOption
{
    /// <summary>The widths of a comma-separated list; a bad entry or an empty list is a usage error naming the choices.</summary>
    public static CpuVectorWidth[] Widths(string list)
    {
        var widths = list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(Width).ToArray();
        return widths.Length > 0 ? widths : throw new ArgumentException($"--simd '{list}' names no width: use {string.Join(", ", CpuVectorWidths.Names)}.");
    }

    /// <summary>One width by name; anything else is a usage error naming the choices.</summary>
    public static CpuVectorWidth Width(string name)
    {
        try { return CpuVectorWidths.Parse(name); }
        catch (ArgumentException e) { throw new ArgumentException($"--simd: {e.Message.Split(" (Parameter")[0]}"); }
    }
}
