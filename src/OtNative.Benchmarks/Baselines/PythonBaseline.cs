using System.Diagnostics;
using System.Globalization;

namespace OtNative.Benchmarks;

/// <summary>
/// Runs a reference script (numpy, POT) in a child Python process on arrays passed as .npy files, so that
/// baselines are timed on the same data in the same run. A missing Python or module makes the baseline
/// unavailable with a reason, never an error.
/// </summary>
public sealed class PythonBaseline
{
    private readonly string _python;

    private PythonBaseline(string python, string version, string blasKernel)
    {
        _python = python;
        Version = version;
        BlasKernel = blasKernel;
    }

    /// <summary>The version the probe printed (of the first module).</summary>
    public string Version { get; }

    /// <summary>The BLAS numpy runs on and the kernel it chose for this processor (OpenBLAS's core name).</summary>
    public string BlasKernel { get; }

    /// <summary>
    /// Set on some machines so that old OpenBLAS builds pick a safe kernel; they slow a current numpy, so the baselines
    /// (and only they) run without them.
    /// </summary>
    private static readonly string[] BlasPins = ["OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"];

    // Prints the first module's version, then the BLAS library numpy loaded and the core OpenBLAS selected.
    private const string BlasProbe = """
        kernel = 'unknown'
        try:
            import ctypes
            kernel = 'no BLAS library found'
            for line in open('/proc/self/maps'):
                fields = line.split()
                if len(fields) >= 6 and ('libblas' in fields[-1] or 'openblas' in fields[-1]):
                    kernel = fields[-1] + ' (not OpenBLAS)'
                    try:
                        name = ctypes.CDLL(fields[-1]).openblas_get_corename
                        name.restype = ctypes.c_char_p
                        kernel = 'OpenBLAS ' + name().decode() + ' (' + fields[-1] + ')'
                        break
                    except (OSError, AttributeError):
                        pass
        except Exception as e:
            kernel = 'unknown (' + type(e).__name__ + ')'
        print(kernel)
        """;

    /// <summary>Finds a Python that imports every module in <paramref name="modules"/>; the first one's version is reported.</summary>
    public static PythonBaseline? TryFind(string[] modules, string installHint, out string reason)
    {
        var probe = $"import {string.Join(", ", modules)}\nprint({modules[0]}.__version__)\n{BlasProbe}";
        foreach (var python in new[] { "python3", "/usr/bin/python3" })
        {
            var (code, output) = RunProcess(python, ["-c", probe]);
            if (code == 0)
            {
                var lines = output.Trim().Split('\n');
                var kernel = lines.Length > 1 ? lines[1].Trim() : "unknown";
                reason = $"{modules[0]} {lines[0].Trim()} via {python}, numpy on {kernel}, {string.Join("/", BlasPins)} unset";
                return new PythonBaseline(python, lines[0].Trim(), kernel);
            }
        }
        reason = $"no python3 with {string.Join(" and ", modules)} ({installHint}); baseline skipped";
        return null;
    }

    /// <summary>
    /// Runs the baseline script <paramref name="scriptName"/> (one of <c>Baselines/python/*.py</c>, embedded in this
    /// assembly) with the arrays written as <c>NAME.npy</c> in a temporary folder (passed as the first argument)
    /// followed by <paramref name="args"/>; returns the numbers on its last output line, or null with the error.
    /// </summary>
    public double[]? Run(string scriptName, IReadOnlyDictionary<string, NumericArray> arrays, IEnumerable<string> args, out string? error)
    {
        var dir = Directory.CreateTempSubdirectory("otnative-baseline-");
        try
        {
            foreach (var (name, array) in arrays) NpyFile.Write(Path.Combine(dir.FullName, name + ".npy"), array);
            var scriptPath = Path.Combine(dir.FullName, scriptName);
            File.WriteAllText(scriptPath, Script(scriptName));
            var (code, output) = RunProcess(_python, [scriptPath, dir.FullName, .. args]);
            if (code != 0)
            {
                error = $"python exited with {code}: {output.Trim().Split('\n').LastOrDefault()}";
                return null;
            }
            error = null;
            return output.Trim().Split('\n').Last().Split(' ', StringSplitOptions.RemoveEmptyEntries)
                .Select(v => double.Parse(v, CultureInfo.InvariantCulture)).ToArray();
        }
        finally
        {
            dir.Delete(true);
        }
    }

    /// <summary>
    /// The first number a timing script prints when run on the clouds x and y (as <c>x.npy</c>, <c>y.npy</c>) with
    /// the arguments ε and the iteration count; null (with the error) when the run failed.
    /// </summary>
    public double? TimeOnClouds(string scriptName, double[,] x, double[,] y, double eps, int iterations, out string? error) =>
        Run(scriptName, new Dictionary<string, NumericArray> { ["x"] = NumericArray.FromMatrix(x), ["y"] = NumericArray.FromMatrix(y) },
            [eps.ToString("R", CultureInfo.InvariantCulture), iterations.ToString(CultureInfo.InvariantCulture)], out error)?[0];

    /// <summary>The text of an embedded baseline script.</summary>
    public static string Script(string name)
    {
        using var stream = typeof(PythonBaseline).Assembly.GetManifestResourceStream(name)
            ?? throw new InvalidOperationException($"The baseline script {name} is not embedded in {typeof(PythonBaseline).Assembly.GetName().Name}.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    private static (int Code, string Output) RunProcess(string file, string[] args)
    {
        try
        {
            var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var pin in BlasPins) psi.Environment.Remove(pin);
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
