using Spectre.Console;

namespace OtNative.Terminal;

/// <summary>Keeps the latest progress report; read by the display thread.</summary>
public sealed class LatestProgress : IProgress<SinkhornProgress>
{
    private SinkhornProgress _latest;
    private int _seen;

    /// <inheritdoc />
    public void Report(SinkhornProgress value)
    {
        _latest = value;
        Volatile.Write(ref _seen, 1);
    }

    /// <summary>A one-line description of the latest report.</summary>
    public string Describe() => Volatile.Read(ref _seen) == 0
        ? "starting"
        : $"iteration {_latest.Iteration}, marginal error {_latest.MarginalError:E2}, {_latest.Elapsed.TotalSeconds:F1} s";
}

/// <summary>Runs work and shows a live status line once it has taken longer than a second (interactive terminals only).</summary>
public static class ProgressDisplay
{
    /// <summary>Runs <paramref name="solve"/> with a progress sink attached to its options.</summary>
    public static T Run<T>(string title, SinkhornOptions options, Func<SinkhornOptions, T> solve)
    {
        var latest = new LatestProgress();
        return Run(title, latest.Describe, () => solve(options with { Progress = latest }));
    }

    /// <summary>Runs <paramref name="work"/>, describing its state with <paramref name="describe"/> while it lasts.</summary>
    public static T Run<T>(string title, Func<string> describe, Func<T> work)
    {
        var task = Task.Run(work);
        if (Finished(task, TimeSpan.FromSeconds(1)) || Console.IsOutputRedirected || !AnsiConsole.Profile.Capabilities.Interactive)
            return task.GetAwaiter().GetResult();
        AnsiConsole.Status().Start($"{title}: {describe()}", ctx =>
        {
            while (!Finished(task, TimeSpan.FromMilliseconds(200)))
                ctx.Status($"{Markup.Escape(title)}: {Markup.Escape(describe())}");
        });
        return task.GetAwaiter().GetResult();
    }

    /// <summary>Whether the task ended (a fault counts: GetResult rethrows it unwrapped afterwards).</summary>
    private static bool Finished(Task task, TimeSpan timeout) => ((IAsyncResult)task).AsyncWaitHandle.WaitOne(timeout);
}
