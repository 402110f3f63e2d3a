using OtNative.Terminal;

namespace OtNative.Cli;

/// <summary>The arrays and solver options a <see cref="ProblemSettings"/> names, loaded and checked.</summary>
public sealed record ProblemInput(double[,] X, double[,] Y, double[]? A, double[]? B, SinkhornOptions Options)
{
    /// <summary>Reads the files and builds the options; file and format errors carry the file name.</summary>
    public static ProblemInput Load(ProblemSettings s, IProgress<SinkhornProgress>? progress = null)
    {
        var options = OptionsOf(s, progress);
        return new ProblemInput(
            ArrayFile.Read(s.X!).ToMatrix(),
            ArrayFile.Read(s.Y!).ToMatrix(),
            s.A is null ? null : ArrayFile.Read(s.A).ToVector(),
            s.B is null ? null : ArrayFile.Read(s.B).ToVector(),
            options);
    }

    /// <summary>
    /// The solver options the settings name. With <c>--mpi</c> it joins the MPI job first; it checks the output files
    /// before any computation.
    /// </summary>
    public static SinkhornOptions OptionsOf(SolverSettings s, IProgress<SinkhornProgress>? progress = null)
    {
        if (s.Mpi && s.Backend != "cpu") throw new ArgumentException($"--mpi runs each rank on the CPU; it cannot be combined with --backend {s.Backend}.");
        if (s.Mpi) MpiRun.Join();
        foreach (var (option, path) in s.Outputs) OutputPath.Prepare(option, path);
        return new SinkhornOptions
        {
            Epsilon = s.Eps!.Value,
            EpsilonRelative = s.EpsRelative,
            Tolerance = s.Tol,
            MaxIterations = s.MaxIter,
            Backend = s.Mpi ? ComputeBackend.Mpi : Backends.Parse(s.Backend),
            Anneal = s.Anneal,
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

    /// <summary>Solves it, showing progress when the solve runs past a second on an interactive terminal.</summary>
    public SinkhornResult Solve() => ProgressDisplay.Run("Sinkhorn", Options, o => EntropicOT.Solve(X, Y, A, B, o));
}
