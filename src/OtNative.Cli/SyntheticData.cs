namespace OtNative.Cli;

/// <summary>Seeded synthetic point clouds for the demo and the benchmarks.</summary>
public static class SyntheticData
{
    /// <summary>n points uniform in the unit cube [0,1]^d.</summary>
    public static double[,] UniformCube(Random rng, int n, int d)
    {
        var x = new double[n, d];
        for (int i = 0; i < n; i++)
            for (int k = 0; k < d; k++)
                x[i, k] = rng.NextDouble();
        return x;
    }

    /// <summary>n points from an isotropic Gaussian with the given centre and standard deviation.</summary>
    public static double[,] Gaussian(Random rng, int n, double[] centre, double std)
    {
        var x = new double[n, centre.Length];
        for (int i = 0; i < n; i++)
            for (int k = 0; k < centre.Length; k++)
                x[i, k] = centre[k] + std * rng.NextGaussian();
        return x;
    }

    /// <summary>A standard normal draw (the core's Box–Muller).</summary>
    public static double NextGaussian(this Random rng) => Core.Synthetic.gaussian(rng);
}
