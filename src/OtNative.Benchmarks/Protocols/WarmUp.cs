using System.Diagnostics;

namespace OtNative.Benchmarks;

/// <summary>
/// Repeats the work to be timed for at least a second before timing it: the runtime's tiered JIT profiles and
/// recompiles hot code (the thread pool's loops among it) during the first second or so, which on two cores
/// would be timed too (it halved the speed of the first n = 1 000 solve and of the first HVP row).
/// </summary>
public static class WarmUp
{
    /// <summary>Runs <paramref name="work"/> until a second has passed, at least once.</summary>
    public static void ForASecond(Action work)
    {
        var sw = Stopwatch.StartNew();
        do work(); while (sw.Elapsed.TotalSeconds < 1.0);
    }
}
