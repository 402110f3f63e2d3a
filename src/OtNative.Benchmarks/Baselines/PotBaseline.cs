namespace OtNative.Benchmarks;

/// <summary>Times POT's <c>ot.sinkhorn(method="sinkhorn_log")</c> (numpy on the machine's BLAS) on the same point clouds.</summary>
public static class PotBaseline
{
    /// <summary>Finds a Python with POT, or says why there is none.</summary>
    public static PythonBaseline? TryFind(out string reason) =>
        PythonBaseline.TryFind(["ot", "numpy"], "Debian: apt-get install python3-pot", out reason);

    /// <summary>Milliseconds per iteration on these clouds, or null (with the error) when the run failed.</summary>
    public static double? MillisecondsPerIteration(this PythonBaseline python, double[,] x, double[,] y, double eps, int iterations, out string? error) =>
        python.TimeOnClouds("pot_sinkhorn_log.py", x, y, eps, iterations, out error);
}
