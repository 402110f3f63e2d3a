using System.Diagnostics;
using OtNative.Cli;

namespace OtNative.Tests;

/// <summary>
/// The otnative command run in-process (its callers are in the "cli" collection: it owns the console) or as a child process
/// (for what a process alone shows: exit codes under a heap limit, signals, environment variables read at start-up).
/// </summary>
internal static class CliRun
{
    /// <summary>Runs the command line in this process: its exit code and what it wrote to standard error.</summary>
    public static (int Code, string Error) InProcess(params string[] args)
    {
        var previous = Console.Error;
        var error = new StringWriter();
        Console.SetError(error);
        try { return (Program.Run(args), error.ToString()); }
        finally { Console.SetError(previous); }
    }

    /// <summary>How to start the built CLI as a child process with <paramref name="args"/>, its output redirected.</summary>
    public static ProcessStartInfo ChildStart(IReadOnlyDictionary<string, string>? environment, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet", [Path.Combine(AppContext.BaseDirectory, "OtNative.Cli.dll"), .. args])
        {
            RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false,
        };
        foreach (var (name, value) in environment ?? new Dictionary<string, string>()) start.Environment[name] = value;
        return start;
    }

    /// <summary>Runs the CLI as a child process to its end: its exit code and standard error.</summary>
    public static (int Code, string Error) Child(IReadOnlyDictionary<string, string>? environment, params string[] args)
    {
        using var process = Process.Start(ChildStart(environment, args))!;
        var error = process.StandardError.ReadToEndAsync();
        process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, error.Result);
    }
}
