using System.Diagnostics;
using Xunit;

namespace OtNative.Tests;

/// <summary>
/// The README's two commands set a fresh machine up alike: both source build/native-lapack.sh, which installs the
/// native LAPACK where it can and otherwise says in one line that the managed fallback will run. The script runs here
/// against stand-in ldconfig, id and apt-get, so both branches are exercised on any machine.
/// </summary>
public class FreshMachineTests
{
    private static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "OtNative.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("OtNative.sln not found above " + AppContext.BaseDirectory);
    }

    /// <summary>Sources the script with stand-ins that report no LAPACK, the given user id, and log apt-get's calls.</summary>
    private static (string Stderr, string AptCalls) SourceWithoutLapack(string userId)
    {
        if (!OperatingSystem.IsLinux()) throw new PlatformNotSupportedException("the set-up script is for Debian");
        var bin = TestData.TempDirectory();
        var log = Path.Combine(bin, "apt.log");
        foreach (var (name, body) in new[] { ("ldconfig", "exit 0"), ("id", $"echo {userId}"), ("apt-get", $"echo \"$@\" >> {log}") })
        {
            var path = Path.Combine(bin, name);
            File.WriteAllText(path, "#!/bin/sh\n" + body + "\n");
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
        var start = new ProcessStartInfo("bash", ["-c", ". build/native-lapack.sh"])
        {
            WorkingDirectory = RepositoryRoot(), RedirectStandardError = true, RedirectStandardOutput = true,
        };
        start.Environment["PATH"] = bin + ":" + Environment.GetEnvironmentVariable("PATH");
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEnd();
        process.WaitForExit();
        Assert.Equal(0, process.ExitCode);
        return (stderr, File.Exists(log) ? File.ReadAllText(log) : "");
    }

    [Theory]
    [InlineData("build/otnative", ". \"$root/build/native-lapack.sh\"", "exec dotnet")]
    [InlineData("build/test.sh", ". build/native-lapack.sh", "dotnet test")]
    public void BothReadmeCommandsSetUpTheNativeLapackBeforeTheyRunAnything(string launcher, string sourcing, string firstRun)
    {
        var text = File.ReadAllText(Path.Combine(RepositoryRoot(), launcher));
        var at = text.IndexOf(sourcing, StringComparison.Ordinal);
        Assert.True(at >= 0, $"{launcher} does not source build/native-lapack.sh");
        Assert.True(at < text.IndexOf(firstRun, StringComparison.Ordinal), $"{launcher} runs before it sets up the native LAPACK");
    }

    [Fact]
    public void AsRootItInstallsTheNativeLapackAndOtherwiseSaysInOneLineThatTheFallbackRuns()
    {
        var (rootStderr, aptCalls) = SourceWithoutLapack("0");
        Assert.Contains("install -y -qq libopenblas0-pthread liblapacke", aptCalls);
        Assert.Contains("installing native LAPACK/BLAS", rootStderr);
        var (userStderr, userApt) = SourceWithoutLapack("1000");
        Assert.Equal("", userApt);
        var line = Assert.Single(userStderr.Trim().Split('\n'));
        Assert.Contains("managed (Math.NET) fallback", line);
    }
}
