using System.Text.Json.Serialization;

namespace OtNative;

/// <summary>
/// The synthetic data of the experiments: uniform and Gaussian clouds, the point-cloud scenes of Li et al. 2024's
/// registration experiments (chair, desk, sofa
/// and the room that holds all three), surfaces sampled from OFF meshes, and the shuffled-regression and registration
/// problems built from them. Every draw comes from the <see cref="Random"/> given, so a seed reproduces a data set.
/// </summary>
public static class Datasets
{
    /// <summary>n points uniform in the unit cube [0, 1]^d.</summary>
    /// <param name="rng">The source of randomness.</param>
    /// <param name="n">Points.</param>
    /// <param name="d">Dimension.</param>
    /// <returns>The points (n×d).</returns>
    public static double[,] UniformCube(Random rng, int n, int d)
    {
        Check(rng, n, d);
        return Applications.Synthetic.uniformCube(rng, n, d).ToArray2D();
    }

    /// <summary>Entries drawn independently from the standard normal distribution.</summary>
    /// <param name="rng">The source of randomness.</param>
    /// <param name="rows">Rows.</param>
    /// <param name="columns">Columns.</param>
    /// <returns>The draws (rows×columns).</returns>
    public static double[,] StandardNormal(Random rng, int rows, int columns)
    {
        Check(rng, rows, columns);
        return Applications.Synthetic.gaussianMatrix(rng, rows, columns, 1.0).ToArray2D();
    }

    /// <summary>
    /// Points sampled uniformly by area from one of the registration objects of Li et al. 2024, <c>chair</c> (500 points),
    /// <c>desk</c> (1500) or <c>sofa</c> (1500), or from <c>room</c>: all three placed side by side as one scene.
    /// </summary>
    /// <param name="rng">The source of randomness.</param>
    /// <param name="name"><c>room</c>, <c>chair</c>, <c>desk</c> or <c>sofa</c>.</param>
    /// <param name="density">A factor on those point counts, in (0, 10] (each object keeps at least 4 points).</param>
    /// <returns>The points (3-D, one per row), in metres.</returns>
    /// <exception cref="ArgumentException">An unknown name, or a density outside (0, 10].</exception>
    public static double[,] Scene(Random rng, string name = "room", double density = 1.0)
    {
        ArgumentNullException.ThrowIfNull(rng);
        ArgumentNullException.ThrowIfNull(name);
        return Applications.Shapes.scene(rng, name, density).ToArray2D();
    }

    /// <summary>Points sampled uniformly by area from the triangles of an OFF mesh file.</summary>
    /// <param name="rng">The source of randomness.</param>
    /// <param name="path">The OFF file (polygons are fanned into triangles).</param>
    /// <param name="points">How many points, at least 4.</param>
    /// <returns>The points (3-D, one per row).</returns>
    /// <exception cref="FormatException">The file is not a valid OFF mesh.</exception>
    public static double[,] SampleOffSurface(Random rng, string path, int points)
    {
        ArgumentNullException.ThrowIfNull(rng);
        ArgumentOutOfRangeException.ThrowIfLessThan(points, 4);
        return Applications.Shapes.sampleSurface(rng, Applications.Shapes.readOff(path), points).ToArray2D();
    }

    /// <summary>
    /// A registration problem: the source centred at its mean, Y = shuffle(s · X Qᵀ + noise) for a random rotation Q, the
    /// truth θ* = s Qᵀ and a start θ₀ = θ* + N(0, startStd²) per entry. With <paramref name="rotationScale"/> the fit is over
    /// φ = (log s, ω) of <see cref="ParameterMap.RotationScale"/> (3-D only) and the start is φ₀ = φ* + N(0, startStd²).
    /// </summary>
    /// <param name="rng">The source of randomness.</param>
    /// <param name="source">The source cloud (n×d).</param>
    /// <param name="scale">The scale s of the true map.</param>
    /// <param name="noise">The noise's standard deviation.</param>
    /// <param name="startStd">The start's standard deviation around the truth.</param>
    /// <param name="rotationScale">Fit rotation + scale (4 parameters) instead of a general d×d map.</param>
    /// <returns>The problem, its start and its truth.</returns>
    /// <exception cref="ArgumentException">A source of fewer than 2 points or with non-finite values, a scale that is not
    /// positive and finite, or a negative or non-finite noise or startStd.</exception>
    public static RegressionProblem Registration(Random rng, double[,] source, double scale, double noise, double startStd, bool rotationScale = false)
    {
        ArgumentNullException.ThrowIfNull(rng);
        // A NaN scale or noise gave a problem whose targets were NaN, and an empty source an empty problem.
        if (!(scale > 0) || !double.IsFinite(scale)) throw new ArgumentOutOfRangeException(nameof(scale), scale, "The scale must be positive and finite.");
        if (!(noise >= 0) || !double.IsFinite(noise)) throw new ArgumentOutOfRangeException(nameof(noise), noise, "The noise must be finite and ≥ 0.");
        if (!(startStd >= 0) || !double.IsFinite(startStd)) throw new ArgumentOutOfRangeException(nameof(startStd), startStd, "startStd must be finite and ≥ 0.");
        ArgumentNullException.ThrowIfNull(source);
        if (source.GetLength(0) < 2 || source.GetLength(1) < 1)
            throw new ArgumentException($"The source needs at least 2 points of at least one coordinate; it is {source.GetLength(0)}×{source.GetLength(1)}.", nameof(source));
        var centred = Applications.Shapes.centre(Arrays.ToMatrix(source, nameof(source)));
        if (rotationScale)
        {
            if (centred.Cols != 3) throw new ArgumentException($"Rotation + scale registration is for 3-D clouds; the source has {centred.Cols} columns.", nameof(source));
            var (problem, phi0) = Applications.Synthetic.registrationRotationScale(rng, centred, scale, noise, startStd).ToValueTuple();
            return new RegressionProblem(problem.Design.ToArray2D(), problem.Targets.ToArray2D(), ParameterMap.RotationScale.ToTheta(phi0),
                problem.TrueParameters.Value.ToArray2D(), ParameterMap.RotationScale, phi0);
        }
        var (linear, theta0) = Applications.Synthetic.registrationProblem(rng, centred, scale, noise, startStd).ToValueTuple();
        return new RegressionProblem(linear.Design.ToArray2D(), linear.Targets.ToArray2D(), theta0.ToArray2D(), linear.TrueParameters.Value.ToArray2D());
    }

    /// <summary>
    /// The Gaussian-mixture shuffled regression of Li et al. 2024: n points in R^dX from three clusters (standard deviations 0.3,
    /// 0.05, 0.6), mapped to R^dY by a random θ*, noise standard deviation 0.2, rows of Y shuffled; θ₀ drawn at random.
    /// </summary>
    /// <param name="seed">The seed of the draw.</param>
    /// <param name="n">Points, at least 2.</param>
    /// <param name="dX">The design's dimension.</param>
    /// <param name="dY">The targets' dimension.</param>
    /// <returns>The problem, its start and its truth.</returns>
    public static RegressionProblem GaussianMixtureRegression(int seed, int n, int dX, int dY)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(n, 2);
        ArgumentOutOfRangeException.ThrowIfLessThan(dX, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(dY, 1);
        var (problem, theta0) = Applications.Synthetic.gaussianMixtureRegression(seed, n, dX, dY).ToValueTuple();
        return new RegressionProblem(problem.Design.ToArray2D(), problem.Targets.ToArray2D(), theta0.ToArray2D(), problem.TrueParameters.Value.ToArray2D());
    }

    private static void Check(Random rng, int rows, int columns)
    {
        ArgumentNullException.ThrowIfNull(rng);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(rows);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(columns);
        // rows × columns overflowed int (UniformCube(rng, int.MaxValue, 2) said "count = -2").
        if ((long)rows * columns > Array.MaxLength)
            throw new ArgumentOutOfRangeException(nameof(rows), rows, $"{rows} × {columns} values exceed .NET's largest array ({Array.MaxLength} elements).");
    }
}

/// <summary>A shuffled-regression problem of <see cref="Datasets"/>: find θ with X θ ≈ Y up to a shuffle of Y's rows.</summary>
/// <param name="X">The design (n×p), one point per row.</param>
/// <param name="Y">The targets (m×d), rows in unknown order.</param>
/// <param name="Theta0">The start θ₀ (p×d); with a <paramref name="Map"/>, map(φ₀).</param>
/// <param name="ThetaStar">The truth θ* (p×d), when known.</param>
/// <param name="Map">How parameters φ give θ, or null for θ itself.</param>
/// <param name="Phi0">The start φ₀ of a <paramref name="Map"/>, or null.</param>
/// <remarks>Its arrays serialise with <see cref="System.Text.Json.JsonSerializer"/> (<see cref="Array2DJsonConverter"/>); a
/// <see cref="ParameterMap"/> is code, written as its name and size, and a problem with one does not read back.</remarks>
public sealed record RegressionProblem([property: JsonConverter(typeof(Array2DJsonConverter))] double[,] X, [property: JsonConverter(typeof(Array2DJsonConverter))] double[,] Y, [property: JsonConverter(typeof(Array2DJsonConverter))] double[,] Theta0,
    [property: JsonConverter(typeof(Array2DJsonConverter))] double[,]? ThetaStar, ParameterMap? Map = null, double[]? Phi0 = null);
