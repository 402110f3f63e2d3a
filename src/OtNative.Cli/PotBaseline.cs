using System.Diagnostics;
using System.Globalization;

namespace OtNative.Cli;

/// <summary>
/// Times POT's <c>ot.sinkhorn(method="sinkhorn_log")</c> (numpy on the machine's BLAS) on the same
/// point clouds, in a child Python process. Absent Python or POT makes it unavailable, not an error.
/// </summary>
public sealed class PotBaseline
{
    private const string Script = """
        import sys, time, warnings
        import numpy as np, ot
        x = np.load(sys.argv[1]); y = np.load(sys.argv[2]); eps = float(sys.argv[3]); iters = int(sys.argv[4])
        a = np.full(len(x), 1.0 / len(x)); b = np.full(len(y), 1.0 / len(y))
        M = ot.dist(x, y)
        warnings.simplefilter("ignore")
        ot.sinkhorn(a, b, M, eps, method="sinkhorn_log", numItermax=2, stopThr=0.0)
        t = time.perf_counter()
        ot.sinkhorn(a, b, M, eps, method="sinkhorn_log", numItermax=iters, stopThr=0.0)
        print(repr((time.perf_counter() - t) / iters * 1000.0))
        """;

    private readonly string _python;

    private PotBaseline(string python, string version)
    {
        _python = python;
        Version = version;
    }

    /// <summary>POT's version string.</summary>
    public string Version { get; }

    /// <summary>Finds a Python with POT importable, or says why there is none.</summary>
    public static PotBaseline? TryFind(out string reason)
    {
        foreach (var python in new[] { "python3", "/usr/bin/python3" })
        {
            var (code, output) = RunProcess(python, ["-c", "import ot, numpy; print(ot.__version__)"]);
            if (code == 0)
            {
                reason = $"POT {output.Trim()} via {python}";
                return new PotBaseline(python, output.Trim());
            }
        }
        reason = "no python3 with POT (Debian: apt-get install python3-pot); POT column skipped";
        return null;
    }

    /// <summary>Milliseconds per iteration on these clouds, or null (with the error) when the run failed.</summary>
    public double? MillisecondsPerIteration(double[,] x, double[,] y, double eps, int iterations, out string? error)
    {
        var dir = Directory.CreateTempSubdirectory("otnative-pot-");
        try
        {
            var xPath = Path.Combine(dir.FullName, "x.npy");
            var yPath = Path.Combine(dir.FullName, "y.npy");
            var scriptPath = Path.Combine(dir.FullName, "pot_bench.py");
            NpyFile.Write(xPath, x);
            NpyFile.Write(yPath, y);
            File.WriteAllText(scriptPath, Script);
            var (code, output) = RunProcess(_python, [scriptPath, xPath, yPath, eps.ToString("R", CultureInfo.InvariantCulture), iterations.ToString(CultureInfo.InvariantCulture)]);
            error = code == 0 ? null : $"POT exited with {code}: {output.Trim().Split('\n').LastOrDefault()}";
            return code == 0 ? double.Parse(output.Trim().Split('\n').Last(), CultureInfo.InvariantCulture) : null;
        }
        finally
        {
            dir.Delete(true);
        }
    }

    private static (int Code, string Output) RunProcess(string file, string[] args)
    {
        try
        {
            var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var a in args) psi.ArgumentList.Add(a);
            using var p = Process.Start(psi)!;
            var stdout = p.StandardOutput.ReadToEndAsync();
            var stderr = p.StandardError.ReadToEndAsync();
            p.WaitForExit();
            return (p.ExitCode, p.ExitCode == 0 ? stdout.Result : stderr.Result + stdout.Result);
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            return (-1, ex.Message);
        }
    }
}
