using System.Diagnostics;
using Xunit;

namespace OtNative.Tests;

/// <summary>A test that starts <c>mpiexec</c> jobs of its own; skipped where MPICH's mpiexec is missing or inside a job already.</summary>
public sealed class MpiexecFactAttribute : FactAttribute
{
    public MpiexecFactAttribute()
    {
        if (!MpiSession.IsAvailable) Skip = "MPI " + MpiSession.Description;
        else if (MpiSession.LaunchedRanks > 1) Skip = "runs mpiexec itself, not inside a job";
        else if (!(Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Any(d => File.Exists(Path.Combine(d, "mpiexec"))))
            Skip = "mpiexec is not on the PATH (apt-get install mpich)";
    }
}

/// <summary>
/// <c>otnative … --mpi</c> jobs whose ranks are given different command lines (MPMD: <c>mpiexec -n 1 A : -n 1 B</c>): a rank
/// with bad input, different data or different options ends the whole job promptly, with exit code 2 and one line from
/// rank 0; ranks with the same data under different paths run.
/// </summary>
public class MpiJobTests
{
    private static (int Code, string[] ErrorLines, string Output, TimeSpan Elapsed) Job(string[] rank0, string[] rank1)
    {
        var cli = Path.Combine(AppContext.BaseDirectory, "OtNative.Cli.dll");
        string[] args = ["-n", "1", "dotnet", cli, .. rank0, ":", "-n", "1", "dotnet", cli, .. rank1];
        var start = new ProcessStartInfo("mpiexec", args) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        var sw = Stopwatch.StartNew();
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(120_000))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail("the job hung: still running after 120 s");
        }
        return (process.ExitCode, error.Result.Split('\n', StringSplitOptions.RemoveEmptyEntries), output.Result, sw.Elapsed);
    }

    private static (string Dir, string X, string X2, string XCopy, string Y) Files()
    {
        var dir = TestData.TempDirectory();
        string Put(string name, double[,] values)
        {
            var path = Path.Combine(dir, name);
            NpyFile.Write(path, values);
            return path;
        }
        var x = TestData.Cloud(1, 40, 2);
        return (dir, Put("x.npy", x), Put("x2.npy", TestData.Cloud(2, 40, 2)), Put("xcopy.npy", x), Put("y.npy", TestData.Cloud(3, 30, 2)));
    }

    private static string[] Solve(string x, string y, string eps = "0.1", params string[] more) => ["solve", "--x", x, "--y", y, "--eps", eps, "--mpi", .. more];

    [MpiexecFact]
    public void RanksGivenDifferentDataStopWithTwoAndOneLineNamingWhatDiffers()
    {
        var f = Files();
        var (code, lines, _, _) = Job(Solve(f.X, f.Y), Solve(f.X2, f.Y));
        Assert.Equal(2, code);
        Assert.Equal("otnative: error: rank 1 was given a different -x from rank 0: every rank must read the same data (their paths may differ) with the same options.",
            Assert.Single(lines));
    }

    [MpiexecFact]
    public void RanksGivenDifferentOptionsStopWithTwo()
    {
        var f = Files();
        var (code, lines, _, _) = Job(Solve(f.X, f.Y, "0.1"), Solve(f.X, f.Y, "0.2"));
        Assert.Equal(2, code);
        Assert.Contains("rank 1 was given different options from rank 0", Assert.Single(lines));
    }

    [MpiexecFact]
    public void BadInputOnOneRankEndsTheWholeJobPromptlyWithItsMessage()
    {
        var f = Files();
        var (code, lines, _, elapsed) = Job(Solve(f.X, f.Y), Solve(Path.Combine(f.Dir, "missing.npy"), f.Y));
        Assert.Equal(2, code);
        Assert.Equal($"otnative: error: rank 1: File not found: {Path.Combine(f.Dir, "missing.npy")}", Assert.Single(lines));
        Assert.True(elapsed < TimeSpan.FromSeconds(60), $"the job took {elapsed.TotalSeconds:F0} s to stop");

        var nan = Path.Combine(f.Dir, "nan.npy");
        var bad = TestData.Cloud(1, 40, 2);
        bad[3, 1] = double.NaN;
        NpyFile.Write(nan, bad);
        (code, lines, _, _) = Job(Solve(nan, f.Y), Solve(f.X, f.Y));
        Assert.Equal(2, code);
        Assert.Contains("rank 1 was given a different -x from rank 0", Assert.Single(lines));
        // The same bad data on every rank: each meets the same error, and rank 0 alone says so.
        (code, lines, _, _) = Job(Solve(nan, f.Y), Solve(nan, f.Y));
        Assert.Equal(2, code);
        Assert.Contains("non-finite", Assert.Single(lines));
    }

    [MpiexecFact]
    public void TheSameDataUnderDifferentPathsRunsAndPrintsNoMpiWarnings()
    {
        var f = Files();
        var json = Path.Combine(f.Dir, "out.json");
        var (code, lines, _, _) = Job(Solve(f.X, f.Y, "0.1", "--json", json), Solve(f.XCopy, f.Y, "0.1", "--json", Path.Combine(f.Dir, "elsewhere.json")));
        Assert.Equal(0, code);
        Assert.Empty(lines);
        Assert.True(File.Exists(json));
        Assert.False(File.Exists(Path.Combine(f.Dir, "elsewhere.json")), "a rank other than 0 wrote an output");
    }
}
