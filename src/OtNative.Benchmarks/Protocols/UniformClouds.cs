
namespace OtNative.Benchmarks;

/// <summary>The benchmarks' common data: points drawn uniformly in the unit cube, as the façade's <c>double[,]</c>.</summary>
public static class UniformClouds
{
    /// <summary>n points in [0, 1]^d.</summary>
    public static double[,] Cloud(Random rng, int n, int d) => Datasets.UniformCube(rng, n, d);

    /// <summary>Two independent clouds of n points in [0, 1]^d, x drawn first.</summary>
    public static (double[,] X, double[,] Y) Pair(Random rng, int n, int d) => (Cloud(rng, n, d), Cloud(rng, n, d));
}
