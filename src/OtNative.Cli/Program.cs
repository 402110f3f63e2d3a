using System.Runtime.InteropServices;
using OtNative.Benchmarks.Commands;
using OtNative.Cli.Commands;
using OtNative.Terminal;
using Spectre.Console;
using Spectre.Console.Cli;

namespace OtNative.Cli;

/// <summary>The <c>otnative</c> command line.</summary>
public static class Program
{
    /// <summary>
    /// Entry point; returns 0 on success, 1 on a failed run, 2 on bad usage, input or output. SIGINT and SIGTERM still end
    /// the process, but first delete the temporary files of the writes in progress (<see cref="ArrayFile.DeletePartialWrites"/>).
    /// </summary>
    public static int Main(string[] args)
    {
        using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, _ => ArrayFile.DeletePartialWrites());
        using var terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, _ => ArrayFile.DeletePartialWrites());
        return Run(args);
    }

    /// <summary>Runs the command line in-process (the tests call this).</summary>
    public static int Run(string[] args)
    {
        var app = new CommandApp();
        app.Configure(config =>
        {
            config.SetApplicationName("otnative");
            // A mistyped option must not be ignored silently: an unknown option or a stray argument is a usage error.
            config.UseStrictParsing();
            config.AddCommand<SolveCommand>("solve").WithDescription("Solve entropic OT between two point clouds; print values and diagnostics.");
            config.AddCommand<GradCommand>("grad").WithDescription("Gradient of the loss with respect to x (n×d) as .npy.");
            config.AddCommand<HessianCommand>("hessian").WithDescription("Dense Hessian of entropic OT w.r.t. x ((n·d)×(n·d)) as .npy.");
            config.AddCommand<HvpCommand>("hvp").WithDescription("Hessian-vector product without forming the Hessian.");
            config.AddCommand<SpectrumCommand>("spectrum").WithDescription("Eigenvalues and conditioning of the H-matrix as JSON.");
            config.AddCommand<BatchCommand>("batch").WithDescription("Many problems from .npy pairs (a folder or a list), one JSON of results; --mpi spreads them across ranks.");
            config.AddCommand<DemoCommand>("demo").WithDescription("A small end-to-end run on the CPU that needs no input files.");
            config.AddCommand<InfoCommand>("info").WithDescription("Backends, devices and code paths available here.");
            config.AddBranch("regress", regress =>
            {
                regress.SetDescription("Shuffled regression and registration: SGD → Newton against SGD → GD, with plots.");
                regress.AddCommand<RegressGmmCommand>("gmm").WithDescription("The paper's Gaussian-mixture experiment (or --x/--y data).");
                regress.AddCommand<RegressPointCloudCommand>("pointcloud").WithDescription("Point-cloud registration with unknown correspondence.");
            });
            config.AddBranch("report", report =>
            {
                report.SetDescription("Reproducible reports under docs/, generated from a fresh run.");
                report.AddCommand<ReportBenchmarksCommand>("benchmarks").WithDescription("docs/benchmarks.md: Table 1 beside the paper's, runtimes, plots, batch throughput.");
                report.AddCommand<ReportExperimentsCommand>("experiments").WithDescription("docs/experiments.md: the mixture and registration experiments with plots.");
            });
            config.AddBranch("bench", bench =>
            {
                bench.SetDescription("Benchmarks that print a table and save JSON.");
                bench.AddCommand<BenchSinkhornCommand>("sinkhorn").WithDescription("Per-iteration time of the CPU solver against POT.");
                bench.AddCommand<BenchBatchCommand>("batch").WithDescription("Problems per second of the batched API against a loop of single solves.");
                bench.AddCommand<BenchGpuCommand>("gpu").WithDescription("CUDA half-step throughput, solve, HVP and dense Hessian against PyTorch (needs a GPU).");
                bench.AddCommand<BenchCompareCommand>("compare").WithDescription("Hessian accuracy, success rate and runtime: unroll, implicit, analytic (paper §5).");
                bench.AddCommand<BenchForwardCommand>("forward").WithDescription("Passes and seconds to tolerance: plain, Gaussian initialiser, annealing; the divergence's self-terms.");
                bench.AddCommand<BenchMpiCommand>("mpi").WithDescription("One problem split across MPI ranks against one process on the same cores; communication per iteration.");
                bench.AddCommand<BenchHessianCommand>("hessian").WithDescription("Dense Hessian against numpy Algorithm 1; matrix-free HVP at large n.");
            });
            config.SetExceptionHandler((ex, _) => Fail(ex));
        });
        var normalised = NormaliseArguments(args);
        Arguments = normalised;
        // The option as typed (--x, not the -x it is normalised to).
        if (OptionSuggestions.MissingValue(normalised) is var bare and >= 0)
        {
            Console.Error.WriteLine($"otnative: error: {args[bare]} needs a value.");
            return 2;
        }
        try { return app.Run(normalised); }
        finally { MpiRun.Finish(); }
    }

    /// <summary>The arguments of the run in progress, for error messages that name the option at fault.</summary>
    [ThreadStatic] private static string[]? _arguments;

    private static string[] Arguments { get => _arguments ?? []; set => _arguments = value; }

    /// <summary>The (normalised) arguments of the run in progress.</summary>
    internal static IReadOnlyList<string> CurrentArguments => Arguments;

    /// <summary>Rewrites the contract's single-letter long options (<c>--x</c>, <c>--x=PATH</c>) to their short form.</summary>
    public static string[] NormaliseArguments(IEnumerable<string> args) => args.Select(arg =>
        arg.Length >= 3 && arg.StartsWith("--", StringComparison.Ordinal) && "xyab".Contains(arg[2]) && (arg.Length == 3 || arg[3] == '=')
            ? "-" + arg[2..]
            : arg).ToArray();

    /// <summary>
    /// A CG failure as the API words it names the API's settings (MaxIterations, AllowUnconverged); on the command line
    /// the options to change are named instead, those of the command that ran.
    /// </summary>
    private static string WithCommandLineRemedy(string message)
    {
        var cut = message.IndexOf(" Raise MaxIterations", StringComparison.Ordinal);
        var situation = cut >= 0 ? message[..cut] : message;
        var remedy = Arguments.FirstOrDefault() == "hvp"
            ? "Raise --max-cg, loosen --cg-tol, use a larger --eps, or pass --allow-unconverged to write the result with its report."
            : "Use a larger --eps, or pass --allow-unconverged to write the result with its report.";
        return $"{situation} {remedy}";
    }

    /// <summary>
    /// One line on standard error, no stack trace; 2 for bad input or output, 1 for a failed computation. Under MPI the
    /// ranks have agreed on their inputs and options before any work (<see cref="AgreedPreparation"/>), so a disagreement,
    /// bad input and a numerical failure meet every rank alike: rank 0 alone prints it and every rank ends with the code.
    /// Any other failure on a rank other than 0, and running out of memory anywhere, is that rank's own while the others
    /// may wait for it in a collective: it prints its line, naming the rank, and ends the whole job (MPI_Abort). Rank 0's
    /// own failures (writing an output) end rank 0 alone, after the others' work is done.
    /// </summary>
    private static int Fail(Exception ex)
    {
        var inner = ex is CommandRuntimeException { InnerException: { } cause } ? cause : ex;
        var message = inner switch
        {
            CgConvergenceException => WithCommandLineRemedy(inner.Message),
            // .NET's own words ("Exception of type 'System.OutOfMemoryException' was thrown") say nothing of the limit.
            OutOfMemoryException and not InsufficientMemoryException => $"ran out of memory: the process may use about {GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / 1073741824.0:G3} GiB here. Give it more memory (or a larger DOTNET_GCHeapHardLimit), or a smaller problem.",
            _ => inner.Message,
        };
        var code = inner is MpiAgreementException agreement ? (agreement.InputFault ? 2 : 1)
            : MpiSession.IsInputFault(inner) || inner is CommandParseException or CommandRuntimeException ? 2 : 1;
        var explained = OptionSuggestions.Explain(message, Arguments);
        if (MpiSession.Current is not { Size: > 1 } session)
        {
            Console.Error.WriteLine($"otnative: error: {explained}");
            return code;
        }
        var sharedByAllRanks = inner is MpiAgreementException or OtNativeException or ArgumentException or FormatException;
        var outOfMemory = inner is OutOfMemoryException;
        if (!outOfMemory && (sharedByAllRanks || session.IsRoot))
        {
            if (session.IsRoot) Console.Error.WriteLine($"otnative: error: {explained}");
            return code;
        }
        Console.Error.WriteLine($"otnative: error: rank {session.Rank}: {explained}");
        Console.Error.Flush();
        session.Abort(code);
        return code;
    }
}
