using System.ComponentModel;
using System.Diagnostics;
using OtNative.Terminal;
using Spectre.Console;
using Spectre.Console.Cli;

namespace OtNative.Cli.Commands;

/// <summary>
/// <c>otnative batch</c>: many problems read from <c>.npy</c> pairs, solved with the same options, one JSON of results.
/// With <c>--mpi</c> under <c>mpiexec -n K</c> the problems are spread across the ranks and rank 0 writes the outputs.
/// A problem that cannot be read or solved is reported in the JSON with its error; the others are still solved.
/// </summary>
public sealed class BatchCommand : Command<BatchCommand.Settings>
{
    public sealed class Settings : SolverSettings
    {
        [CommandOption("--pairs <PATH>")]
        [Description("A folder of NAME.x.npy and NAME.y.npy pairs (taken in name order), or a text file with one 'X.npy Y.npy' pair per line (paths relative to the file; # starts a comment).")]
        public string? Pairs { get; init; }

        [CommandOption("--gradients <DIR>")]
        [Description("Also write each problem's gradient ∂L_ε/∂x (n×d) as DIR/NAME.grad.npy.")]
        public string? Gradients { get; init; }

        public override ValidationResult Validate() =>
            string.IsNullOrEmpty(Pairs) ? ValidationResult.Error("--pairs is required.")
            : string.IsNullOrEmpty(Json) ? ValidationResult.Error("--json is required: the batch's results are written there.")
            : base.Validate();
    }

    /// <summary>One problem's result (JSON field names are part of the CLI contract); the numbers are null when it failed.</summary>
    public sealed record ProblemResult(string Name, string X, string Y, int? N, int? M, double? Value, double? Epsilon, int? Iterations,
        double? MarginalError, bool? Converged, double? Seconds, string? Gradient, string? Error);

    /// <summary>The JSON summary.</summary>
    public sealed record Summary(int Problems, int Failed, int Ranks, double Seconds, IReadOnlyList<ProblemResult> Results);

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellation)
    {
        if (settings.Mpi) MpiRun.Join();
        var (options, pairs, loaded) = AgreedPreparation.Run(() =>
        {
            var options = ProblemInput.OptionsOf(settings);
            // Checked before any solve, like the JSON: a batch must not fail at its last step.
            if (MpiRun.WritesOutputs) OutputPath.PrepareDirectory("--gradients", settings.Gradients);
            var pairs = PairList.Read(settings.Pairs!);
            return (Options: options, Pairs: pairs, Loaded: pairs.Select(p => Load(p.Name, p.X, p.Y)).ToArray());
        }, (prepared, fingerprint) =>
        {
            foreach (var (pair, (problem, error)) in prepared.Pairs.Zip(prepared.Loaded))
            {
                if (problem is null) fingerprint.Add(pair.Name, error!);
                else fingerprint.Add(pair.Name + " x", problem.X).Add(pair.Name + " y", problem.Y);
            }
            return fingerprint;
        });
        // Only the pairs that were read are solved (an invalid one is its own outcome); each keeps its place in the list.
        var readable = Enumerable.Range(0, loaded.Length).Where(i => loaded[i].Problem is not null).ToArray();
        var problems = readable.Select(i => loaded[i].Problem!).ToArray();
        var sw = Stopwatch.StartNew();
        var outcomes = EntropicOT.TrySolveBatch(problems, options, gradients: settings.Gradients is not null, cancellationToken: cancellation);
        var seconds = sw.Elapsed.TotalSeconds;
        if (!MpiRun.WritesOutputs) return 0;
        var solved = readable.Zip(outcomes).ToDictionary(pair => pair.First, pair => pair.Second);
        if (settings.Gradients is not null) Directory.CreateDirectory(settings.Gradients);
        var results = pairs.Select((pair, i) =>
        {
            var (problem, error) = loaded[i];
            var n = problem?.X.GetLength(0);
            var m = problem?.Y.GetLength(0);
            if (error is null && solved[i].Error is { } failed) error = failed.Message;
            if (error is not null)
                return new ProblemResult(pair.Name, pair.X, pair.Y, n, m, null, null, null, null, null, null, null, error);
            var item = solved[i].Item!;
            string? gradient = null;
            string? writeError = null;
            if (item.Gradient is { } g)
            {
                gradient = Path.Combine(settings.Gradients!, pair.Name + ".grad.npy");
                // A write that fails part-way (a full disk, a file in the way) is that problem's error: the others' results
                // and the JSON are still written.
                try { MpiRun.WriteNpy(gradient, g); }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
                {
                    writeError = $"solved, but its gradient could not be written to {gradient}: {e.Message}";
                    gradient = null;
                }
            }
            return new ProblemResult(pair.Name, pair.X, pair.Y, n, m, item.Value, item.Epsilon, item.Iterations,
                item.MarginalError, item.Converged, item.Elapsed.TotalSeconds, gradient, writeError);
        }).ToList();
        var failedCount = results.Count(r => r.Error is not null);
        var summary = new Summary(results.Count, failedCount, MpiSession.Current?.Size ?? 1, seconds, results);
        var table = new Table().Title($"{results.Count} problems, {summary.Ranks} rank(s), {seconds:F2} s").AddColumns("problem", "n × m", "value", "iterations", "converged");
        foreach (var r in results)
            table.AddRow(Markup.Escape(r.Name), r.N is null ? "—" : $"{r.N} × {r.M}", r.Value is { } v ? $"{v:G10}" : "[red]failed[/]",
                r.Iterations?.ToString() ?? "—", r.Error is { } e ? Markup.Escape(e.Length > 60 ? e[..60] + "…" : e) : r.Converged == true ? "yes" : "[yellow]no[/]");
        AnsiConsole.Write(table);
        MpiRun.WriteJson(settings.Json, summary);
        if (failedCount == 0) return 0;
        // Exit 1 with one line saying what failed and where the details are, as every other failure does.
        if (MpiSession.Current is not { } session || session.IsRoot)
            Console.Error.WriteLine($"otnative: error: {failedCount} of {results.Count} problems failed; each one's error is in {settings.Json}.");
        return 1;
    }

    /// <summary>A pair read as a problem named after it (its checks come with the solve), or the reason it cannot be read.</summary>
    private static (BatchProblem? Problem, string? Error) Load(string name, string x, string y)
    {
        try
        {
            return (new BatchProblem(ArrayFile.Read(x).ToMatrix(), ArrayFile.Read(y).ToMatrix(), Name: name), null);
        }
        catch (Exception e) when (e is ArgumentException or IOException or FormatException or UnauthorizedAccessException)
        {
            return (null, e.Message);
        }
    }
}

/// <summary>The problems of <c>otnative batch --pairs</c>: a folder of NAME.x.npy / NAME.y.npy pairs, or a list file.</summary>
public static class PairList
{
    /// <summary>The (name, x path, y path) of every pair, in order.</summary>
    /// <exception cref="ArgumentException">The folder has no pairs, an x has no y, a list line is not two paths, or two listed x files share a name.</exception>
    public static IReadOnlyList<(string Name, string X, string Y)> Read(string path)
    {
        if (Directory.Exists(path))
        {
            var xs = Directory.GetFiles(path, "*.x.npy").OrderBy(f => f, StringComparer.Ordinal).ToList();
            if (xs.Count == 0) throw new ArgumentException($"--pairs {path}: the folder has no NAME.x.npy files.");
            return xs.Select(x =>
            {
                var name = Path.GetFileName(x)[..^".x.npy".Length];
                var y = Path.Combine(path, name + ".y.npy");
                if (!File.Exists(y)) throw new ArgumentException($"--pairs {path}: {name}.x.npy has no {name}.y.npy beside it.");
                return (name, x, y);
            }).ToList();
        }
        if (!File.Exists(path)) throw new FileNotFoundException($"--pairs {path}: no such folder or list file.");
        var directory = Path.GetDirectoryName(Path.GetFullPath(path))!;
        var pairs = new List<(string, string, string)>();
        foreach (var (line, number) in File.ReadLines(path).Select((l, k) => (l.Split('#')[0].Trim(), k + 1)))
        {
            if (line.Length == 0) continue;
            var parts = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length != 2) throw new ArgumentException($"--pairs {path}, line {number}: expected 'X.npy Y.npy', got '{line}'.");
            var x = Path.Combine(directory, parts[0]);
            var name = Path.GetFileNameWithoutExtension(parts[0]);
            pairs.Add((name.EndsWith(".x", StringComparison.Ordinal) ? name[..^2] : name, x, Path.Combine(directory, parts[1])));
        }
        if (pairs.Count == 0) throw new ArgumentException($"--pairs {path}: the list has no pairs.");
        // The name keys the results and the gradient files.
        if (pairs.GroupBy(p => p.Item1).FirstOrDefault(g => g.Count() > 1) is { } twice)
            throw new ArgumentException($"--pairs {path}: {twice.Count()} pairs whose x files are named {twice.Key}; give them distinct names.");
        return pairs;
    }
}
