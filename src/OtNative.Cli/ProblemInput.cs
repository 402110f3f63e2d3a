using OtNative.Terminal;

namespace OtNative.Cli;

/// <summary>
/// The arrays and solver options a <see cref="ProblemSettings"/> names, loaded and checked, with the HVP direction where the
/// command reads one.
/// </summary>
public sealed record ProblemInput(double[,] X, double[,] Y, double[]? A, double[]? B, SinkhornOptions Options, double[,]? Direction = null)
{
    /// <summary>
    /// Reads the files and builds the options; file and format errors carry the file name. Under <c>--mpi</c> every rank
    /// joins the job first and the ranks agree on the outcome (<see cref="AgreedPreparation"/>) before anything is solved.
    /// </summary>
    public static ProblemInput Load(ProblemSettings s, IProgress<SinkhornProgress>? progress = null, string? direction = null)
    {
        if (s.Mpi) MpiRun.Join();
        return AgreedPreparation.Run(
            () => new ProblemInput(
                ArrayFile.Read(s.X!).ToMatrix(),
                ArrayFile.Read(s.Y!).ToMatrix(),
                s.A is null ? null : ArrayFile.Read(s.A).ToVector(),
                s.B is null ? null : ArrayFile.Read(s.B).ToVector(),
                OptionsOf(s, progress),
                direction is null ? null : ArrayFile.Read(direction).ToMatrix()),
            (input, fingerprint) => fingerprint.Add("-x", input.X).Add("-y", input.Y).Add("-a", input.A).Add("-b", input.B).Add("--direction", input.Direction));
    }

    /// <summary>
    /// The solver options the settings name. With <c>--mpi</c> it joins the MPI job first; the process that writes the
    /// outputs checks them before any computation.
    /// </summary>
    public static SinkhornOptions OptionsOf(SolverSettings s, IProgress<SinkhornProgress>? progress = null)
    {
        if (s.Mpi && s.Backend != "cpu") throw new ArgumentException($"--mpi runs each rank on the CPU; it cannot be combined with --backend {s.Backend}.");
        if (s.Mpi) MpiRun.Join();
        if (MpiRun.WritesOutputs)
            foreach (var (option, path) in s.Outputs) OutputPath.Prepare(option, path);
        return new SinkhornOptions
        {
            Epsilon = s.Eps!.Value,
            EpsilonRelative = s.EpsRelative,
            Tolerance = s.Tol,
            MaxIterations = s.MaxIter,
            // The command reports an unconverged solve ("converged": false in its JSON, a warning on the terminal).
            AllowUnconverged = true,
            Backend = s.Mpi ? ComputeBackend.Mpi : Backends.Parse(s.Backend),
            Anneal = s.Anneal,
            Cost = CostOf(s.Cost),
            TauA = s.TauA ?? double.PositiveInfinity,
            TauB = s.TauB ?? double.PositiveInfinity,
            Precision = s.Precision switch { "mixed" => SinkhornPrecision.Mixed, "auto" => SinkhornPrecision.Auto, _ => SinkhornPrecision.Double },
            Solver = s.Solver switch
            {
                "lbfgs" => SinkhornSolver.Lbfgs, "auto" => SinkhornSolver.Auto, "sinkhorn-lbfgs" => SinkhornSolver.SinkhornThenLbfgs,
                _ => SinkhornSolver.Sinkhorn,
            },
            Initializer = s.Init switch { "gaussian" => SinkhornInitializer.Gaussian, "sorting" => SinkhornInitializer.Sorting, "subsample" => SinkhornInitializer.Subsample, "gmm" => SinkhornInitializer.Gmm, "auto" => SinkhornInitializer.Auto, _ => SinkhornInitializer.None },
            Progress = progress,
        };
    }

    /// <summary>The ground cost <c>--cost</c> names; a metric file that cannot be read or is not a metric is bad input.</summary>
    private static GroundCost CostOf(string spec)
    {
        if (spec == "sqeuclidean") return GroundCost.SquaredEuclidean;
        if (spec == "euclidean") return GroundCost.Euclidean;
        if (spec.StartsWith("pnorm:", StringComparison.Ordinal)) return GroundCost.PNorm(ProblemSettings.PNormExponent(spec));
        var path = spec["mahalanobis:".Length..];
        try { return GroundCost.Mahalanobis(ArrayFile.Read(path).ToMatrix()); }
        catch (ArgumentException e) { throw new ArgumentException($"--cost {spec}: {e.Message.Split(" (Parameter")[0]}"); }
    }

    /// <summary>Solves it, showing progress when the solve runs past a second on an interactive terminal.</summary>
    public SinkhornResult Solve() => ProgressDisplay.Run("Sinkhorn", Options, o => EntropicOT.Solve(X, Y, A, B, o));
}
