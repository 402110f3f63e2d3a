using OtNative.Terminal;
using Spectre.Console;

namespace OtNative.Terminal;

/// <summary>
/// <c>--mpi</c>: the command runs on every rank of the <c>mpiexec</c> job it was started in, on the distributed backend;
/// rank 0 prints and writes the outputs (the same JSON and <c>.npy</c> as without MPI), the other ranks stay silent
/// except for errors.
/// </summary>
public static class MpiRun
{
    /// <summary>Whether this process prints and writes outputs: always without MPI, on rank 0 with it.</summary>
    public static bool WritesOutputs => MpiSession.Current?.IsRoot ?? true;

    private static MpiSession? startedHere;
    private static (TextWriter Out, IAnsiConsole Ansi)? silenced;

    /// <summary>
    /// Starts MPI for this process unless it already runs (an application that started it keeps it), and silences
    /// standard output on ranks other than 0 until <see cref="Finish"/>.
    /// </summary>
    /// <exception cref="NotSupportedException">MPICH is not installed here.</exception>
    public static MpiSession Join()
    {
        var session = MpiSession.Current;
        if (session is null) session = startedHere = MpiSession.Start();
        if (!session.IsRoot && silenced is null)
        {
            silenced = (Console.Out, AnsiConsole.Console);
            Console.SetOut(TextWriter.Null);
            AnsiConsole.Console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(TextWriter.Null) });
        }
        return session;
    }

    /// <summary>Writes an output array, on the rank that writes outputs.</summary>
    public static void WriteNpy(string path, double[,] values)
    {
        if (WritesOutputs) NpyFile.Write(path, values);
    }

    /// <summary>Writes a JSON summary when a path is given, on the rank that writes outputs.</summary>
    public static void WriteJson(string? path, object summary)
    {
        if (path is not null && WritesOutputs) JsonReport.Write(path, summary);
    }

    /// <summary>Restores standard output, and finalises MPI if <see cref="Join"/> started it.</summary>
    public static void Finish()
    {
        if (silenced is { } saved)
        {
            Console.SetOut(saved.Out);
            AnsiConsole.Console = saved.Ansi;
            silenced = null;
        }
        startedHere?.Dispose();
        startedHere = null;
    }
}
