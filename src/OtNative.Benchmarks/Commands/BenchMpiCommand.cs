using System.ComponentModel;
using System.Diagnostics;
using System.Text.Json;
using OtNative.Terminal;
using Spectre.Console;
using Spectre.Console.Cli;

namespace OtNative.Benchmarks.Commands;

/// <summary>
/// <c>otnative bench mpi</c>: one problem split across MPI ranks (<see cref="ComputeBackend.Mpi"/>) against one process
/// on the same cores, seconds per Sinkhorn iteration, and the communication per iteration measured against the model
/// of docs/distributed.md (each rank's payload n/K + 2m doubles in three collectives). The command starts the MPI jobs itself
/// (<c>mpiexec -n K</c>, each rank capped at cores / K threads) and runs the one-process baseline in its own process.
/// </summary>
public sealed class BenchMpiCommand : Command<BenchMpiCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandOption("--size <N>")]
        [Description("n = m (default 4000).")]
        [DefaultValue(4000)]
        public int Size { get; init; } = 4000;

        [CommandOption("--dim <D>")]
        [Description("Dimension d (default 2).")]
        [DefaultValue(2)]
        public int Dim { get; init; } = 2;

        [CommandOption("--iterations <K>")]
        [Description("Sinkhorn iterations timed per configuration (default 40).")]
        [DefaultValue(40)]
        public int Iterations { get; init; } = 40;

        [CommandOption("--ranks <LIST>")]
        [Description("Rank counts of the MPI jobs (default 1,2).")]
        [DefaultValue("1,2")]
        public string Ranks { get; init; } = "1,2";

        [CommandOption("--worker")]
        [Description("Internal: this process is a rank of a job the benchmark started.")]
        public bool Worker { get; init; }

        [CommandOption("--json <PATH>")]
        [Description("JSON output (default bench-mpi.json).")]
        [DefaultValue("bench-mpi.json")]
        public string Json { get; init; } = "bench-mpi.json";

        public override ValidationResult Validate() =>
            Size < 2 || Dim < 1 || Iterations < 1 ? ValidationResult.Error("--size must be at least 2, --dim and --iterations positive.") : ValidationResult.Success();
    }

    /// <summary>One configuration's measurement.</summary>
    public sealed record Row(string Configuration, int Ranks, int ThreadsPerRank, double MillisecondsPerIteration, double SpeedupOverOneProcess,
        double CollectivesPerIteration, double DoublesPerIteration, double ModelDoublesPerIteration);

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellation) =>
        settings.Worker ? RunWorker(settings) : RunAll(settings);

    private static SinkhornOptions TimedOptions(Settings s, ComputeBackend backend) => new()
    {
        Solver = SinkhornSolver.Sinkhorn, AllowUnconverged = true, Epsilon = 0.05, EpsilonRelative = true, Tolerance = 1e-300, MaxIterations = s.Iterations, Backend = backend,
    };

    private static (double[,] X, double[,] Y) Problem(Settings s) => UniformClouds.Pair(new Random(s.Size), s.Size, s.Dim);

    /// <summary>A rank of a job: the timed solve on the distributed backend; rank 0 writes its row.</summary>
    private static int RunWorker(Settings s)
    {
        var session = MpiRun.Join();
        var (x, y) = Problem(s);
        using (EntropicOT.Solve(x, y, TimedOptions(s, ComputeBackend.Mpi) with { MaxIterations = 2 })) { }
        session.ResetTraffic();
        using var solved = EntropicOT.Solve(x, y, TimedOptions(s, ComputeBackend.Mpi));
        var iterations = solved.Iterations;
        var row = new Row($"{session.Size} rank(s) × {OtNativeEnvironment.MaxThreads} thread(s)", session.Size, OtNativeEnvironment.MaxThreads,
            1e3 * solved.Elapsed.TotalSeconds / iterations, 0, (double)session.TrafficSinceReset.Collectives / iterations,
            (double)session.TrafficSinceReset.Doubles / iterations, (double)s.Size / session.Size + 2.0 * s.Size);
        MpiRun.WriteJson(s.Json, row);
        return 0;
    }

    private static int RunAll(Settings s)
    {
        var cores = OtNativeEnvironment.MaxThreads;
        var (x, y) = Problem(s);
        using (EntropicOT.Solve(x, y, TimedOptions(s, ComputeBackend.Cpu) with { MaxIterations = 2 })) { }
        using var single = ProgressDisplay.Run("one process", TimedOptions(s, ComputeBackend.Cpu), o => EntropicOT.Solve(x, y, o));
        var baseline = 1e3 * single.Elapsed.TotalSeconds / single.Iterations;
        var rows = new List<Row> { new($"one process × {cores} thread(s)", 1, cores, baseline, 1, 0, 0, 0) };
        string? note = null;
        foreach (var ranks in ListOption.Ints(s.Ranks))
        {
            var measured = RunJob(s, ranks, Math.Max(1, cores / ranks), out var why);
            if (measured is null) { note = why; break; }
            rows.Add(measured with { SpeedupOverOneProcess = baseline / measured.MillisecondsPerIteration });
        }
        var table = new Table().Title($"Sinkhorn iterations, n = m = {s.Size}, d = {s.Dim}, {s.Iterations} iterations each, {Environment.ProcessorCount} cores")
            .AddColumns("configuration", "ms / iteration", "speed-up", "collectives / iteration", "doubles / iteration / rank (model n/K + 2m)");
        foreach (var r in rows)
            table.AddRow(r.Configuration, $"{r.MillisecondsPerIteration:F2}", $"{r.SpeedupOverOneProcess:F2}×",
                r.Ranks == 1 && r.CollectivesPerIteration == 0 ? "—" : $"{r.CollectivesPerIteration:F1}",
                r.DoublesPerIteration == 0 ? "—" : $"{r.DoublesPerIteration:F0} ({r.ModelDoublesPerIteration:F0})");
        AnsiConsole.Write(table);
        if (note is not null) AnsiConsole.MarkupLine($"[yellow]{Markup.Escape(note)}[/]");
        JsonReport.Save(s.Json, new { benchmark = "mpi", n = s.Size, d = s.Dim, iterations = s.Iterations, cores = Environment.ProcessorCount, rows, note });
        return 0;
    }

    /// <summary>Runs this command as an <c>mpiexec -n ranks</c> job of workers and reads rank 0's row; null and why when it cannot.</summary>
    private static Row? RunJob(Settings s, int ranks, int threads, out string? why)
    {
        why = null;
        if (!MpiSession.IsAvailable) { why = $"MPI rows skipped: MPI is {MpiSession.Description}."; return null; }
        var json = Path.Combine(Path.GetTempPath(), $"otnative-bench-mpi-{Guid.NewGuid():N}.json");
        var start = new ProcessStartInfo("mpiexec") { RedirectStandardOutput = true, RedirectStandardError = true };
        // The command line's assembly sits beside this one (a build, a publish, an installed tool); run it with this host.
        var host = Path.GetFileNameWithoutExtension(Environment.ProcessPath) == "dotnet" ? Environment.ProcessPath! : "dotnet";
        var cli = Path.Combine(Path.GetDirectoryName(typeof(BenchMpiCommand).Assembly.Location)!, "OtNative.Cli.dll");
        foreach (var arg in (string[])["-n", $"{ranks}", "env", $"OTNATIVE_THREADS={threads}", host, cli]) start.ArgumentList.Add(arg);
        foreach (var arg in (string[])["bench", "mpi", "--worker", "--size", $"{s.Size}", "--dim", $"{s.Dim}", "--iterations", $"{s.Iterations}", "--json", json])
            start.ArgumentList.Add(arg);
        try
        {
            using var job = Process.Start(start)!;
            var error = job.StandardError.ReadToEndAsync();
            job.StandardOutput.ReadToEnd();
            if (!job.WaitForExit(TimeSpan.FromMinutes(10))) { job.Kill(true); why = $"the {ranks}-rank job ran past 10 minutes"; return null; }
            if (job.ExitCode != 0 || !File.Exists(json)) { why = $"the {ranks}-rank job failed ({job.ExitCode}): {error.Result.Trim()}"; return null; }
            return JsonSerializer.Deserialize<Row>(File.ReadAllText(json), new JsonSerializerOptions { PropertyNameCaseInsensitive = true });
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            why = $"MPI rows skipped: mpiexec cannot be started ({e.Message}).";
            return null;
        }
        finally
        {
            File.Delete(json);
        }
    }
}
