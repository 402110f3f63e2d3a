using System.Diagnostics;
using Xunit;

namespace OtNative.Tests;

/// <summary>
/// A test of what a git checkout gives the build; skipped, saying so, in a source tree without .git. A linked worktree's
/// .git is a file naming its git directory, which the build follows too.
/// </summary>
public sealed class GitCheckoutFactAttribute : FactAttribute
{
    public GitCheckoutFactAttribute()
    {
        if (TestData.RepositoryRoot() is not { } root
            || !(File.Exists(Path.Combine(root, ".git", "HEAD")) || File.Exists(Path.Combine(root, ".git"))))
            Skip = "not a git checkout: the version has no commit to name";
    }
}

/// <summary>
/// The README's two commands set a fresh machine up alike: both source build/provision.sh (the tests with --tests),
/// which sources build/native-lapack.sh: it installs the native LAPACK where it can and otherwise says in one line that
/// the managed fallback will run. The script runs here
/// against stand-in ldconfig, id and apt-get, so both branches are exercised on any machine.
/// </summary>
public class FreshMachineTests
{
    private static string RepositoryRoot() =>
        TestData.RepositoryRoot() ?? throw new InvalidOperationException("OtNative.sln not found above " + AppContext.BaseDirectory);

    /// <summary>
    /// Sources the script, under the callers' <c>set -euo pipefail</c>, with stand-ins: an ldconfig that prints
    /// <paramref name="listing"/>, an id that says <paramref name="userId"/>, and an apt-get that logs its calls.
    /// </summary>
    private static (string Stderr, string AptCalls) Source(string userId, string listing)
    {
        if (!OperatingSystem.IsLinux()) throw new PlatformNotSupportedException("the set-up script is for Debian");
        var bin = TestData.TempDirectory();
        var log = Path.Combine(bin, "apt.log");
        File.WriteAllText(Path.Combine(bin, "listing"), listing);
        foreach (var (name, body) in new[] { ("ldconfig", $"cat {Path.Combine(bin, "listing")}"), ("id", $"echo {userId}"), ("apt-get", $"echo \"$@\" >> {log}") })
        {
            var path = Path.Combine(bin, name);
            File.WriteAllText(path, "#!/bin/sh\n" + body + "\n");
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
        var start = new ProcessStartInfo("bash", ["-c", "set -euo pipefail; . build/native-lapack.sh"])
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
    [InlineData("build/otnative", ". \"$root/build/provision.sh\"", "exec dotnet")]
    [InlineData("build/test.sh", ". build/provision.sh --tests", "dotnet restore")]
    [InlineData("build/provision.sh", ". \"$provision_root/build/native-lapack.sh\"", "if [ \"${1:-}\" = \"--tests\" ]")]
    public void BothReadmeCommandsSetUpTheMachineBeforeTheyRunAnything(string launcher, string sourcing, string firstRun)
    {
        var text = File.ReadAllText(Path.Combine(RepositoryRoot(), launcher));
        var at = text.IndexOf(sourcing, StringComparison.Ordinal);
        Assert.True(at >= 0, $"{launcher} does not source what sets the machine up ({sourcing})");
        var run = text.IndexOf(firstRun, StringComparison.Ordinal);
        Assert.True(run >= 0, $"{launcher} no longer has '{firstRun}'");
        Assert.True(at < run, $"{launcher} runs before it sets the machine up");
    }

    [Fact]
    public void AsRootItInstallsTheNativeLapackAndOtherwiseSaysInOneLineThatTheFallbackRuns()
    {
        var (rootStderr, aptCalls) = Source("0", "");
        Assert.Contains("install -y -qq libopenblas0-pthread liblapacke", aptCalls);
        Assert.Contains("installing native LAPACK/BLAS", rootStderr);
        var (userStderr, userApt) = Source("1000", "");
        Assert.Equal("", userApt);
        var line = Assert.Single(userStderr.Trim().Split('\n'));
        Assert.Contains("managed (Math.NET) fallback", line);
    }

    [Fact]
    public void WhereBothLibrariesAreInstalledItDoesNothingEvenUnderPipefail()
    {
        // A long listing, as on a real machine: a reader that stops at the first match would kill ldconfig with SIGPIPE.
        var listing = string.Join("\n", Enumerable.Range(0, 20_000).Select(i => $"\tlibfiller{i}.so.1 (libc6,x86-64) => /lib/libfiller{i}.so.1")
            .Prepend("\tliblapacke.so.3 (libc6,x86-64) => /lib/x86_64-linux-gnu/liblapacke.so.3")
            .Prepend("\tlibopenblas.so.0 (libc6,x86-64) => /lib/x86_64-linux-gnu/libopenblas.so.0"));
        var (stderr, aptCalls) = Source("0", listing);
        Assert.Equal("", aptCalls);
        Assert.Equal("", stderr.Trim());
    }

    [GitCheckoutFact]
    public void APackageBuiltHereIsVersionedByTheCommitItComesFrom()
    {
        var root = RepositoryRoot();
        var start = new ProcessStartInfo("git", ["rev-parse", "HEAD"]) { WorkingDirectory = root, RedirectStandardOutput = true, UseShellExecute = false };
        using var git = Process.Start(start)!;
        var commit = git.StandardOutput.ReadToEnd().Trim();
        git.WaitForExit();
        Assert.StartsWith($"0.4.0-dev.{commit[..10]}", OtNativeEnvironment.Describe().Version);
    }
}
