using OtNative.Core;

namespace OtNative;

/// <summary>
/// The register widths of the CPU kernels (<see cref="CpuVectorWidth"/>): which one runs by default, their names as the
/// command line and OTNATIVE_SIMD spell them (<c>512</c>, <c>256</c>, <c>128</c>, <c>scalar</c>), and what the float64
/// exponential costs at each on this machine, the unit of a Sinkhorn pass's hardware limit.
/// </summary>
public static class CpuVectorWidths
{
    /// <summary>The width <see cref="CpuVectorWidth.Auto"/> runs at: the widest this processor executes in hardware, or OTNATIVE_SIMD's.</summary>
    /// <exception cref="ArgumentException">OTNATIVE_SIMD names no width.</exception>
    public static CpuVectorWidth Configured => Public(Simd.configured.Value);

    /// <summary>The widest width this processor executes in hardware.</summary>
    public static CpuVectorWidth Widest => Public(Simd.widest);

    /// <summary>The widths by name, widest first.</summary>
    public static IReadOnlyList<string> Names { get; } = Simd.names.Select(n => n.Item1).ToArray();

    /// <summary>A width's name: <c>512</c>, <c>256</c>, <c>128</c> or <c>scalar</c>.</summary>
    /// <param name="width">A width other than <see cref="CpuVectorWidth.Auto"/> (that one is named after <see cref="Configured"/>).</param>
    /// <returns>The name.</returns>
    public static string Name(CpuVectorWidth width) => Simd.name(Core(width));

    /// <summary>A width described for a report: <c>512-bit, 8 × float64, hardware</c>, or that it runs in software here.</summary>
    /// <param name="width">A width (<see cref="CpuVectorWidth.Auto"/>: <see cref="Configured"/>).</param>
    /// <returns>The description.</returns>
    public static string Describe(CpuVectorWidth width) => Simd.describe(Core(width));

    /// <summary>A width from its name (case-insensitive).</summary>
    /// <param name="name"><c>512</c>, <c>256</c>, <c>128</c> or <c>scalar</c>.</param>
    /// <returns>The width.</returns>
    /// <exception cref="ArgumentException">Not one of the names; the message lists them.</exception>
    public static CpuVectorWidth Parse(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        var parsed = Simd.parse(name);
        return parsed.IsOk ? Public(parsed.ResultValue) : throw new ArgumentException(parsed.ErrorValue, nameof(name));
    }

    /// <summary>
    /// Measures the nanoseconds one float64 exponential of the kernels takes at <paramref name="width"/> on one core (an
    /// L1-resident array, best of several passes; about 0.1 s). A Sinkhorn iteration evaluates 2·n·m of them, so
    /// 2·n·m·this / threads is the hardware limit of an iteration that benchmarks compare against.
    /// </summary>
    /// <param name="width">The width (<see cref="CpuVectorWidth.Auto"/>: <see cref="Configured"/>).</param>
    /// <returns>Nanoseconds per element.</returns>
    public static double MeasureExpNanoseconds(CpuVectorWidth width) => SimdMath.nanosecondsPerExp(Core(width));

    private static SimdWidth Core(CpuVectorWidth width) => width switch
    {
        CpuVectorWidth.Auto => Simd.configured.Value,
        CpuVectorWidth.Scalar or CpuVectorWidth.Bits128 or CpuVectorWidth.Bits256 or CpuVectorWidth.Bits512 => (SimdWidth)(int)width,
        _ => throw new ArgumentOutOfRangeException(nameof(width), width, "Unknown CPU vector width: use Auto, Scalar, Bits128, Bits256 or Bits512."),
    };

    private static CpuVectorWidth Public(SimdWidth width) => (CpuVectorWidth)(int)width;
}
