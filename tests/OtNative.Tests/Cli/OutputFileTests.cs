using System.Diagnostics;
using OtNative.Cli;
using Xunit;

namespace OtNative.Tests;

/// <summary>A 64 KiB file system mounted for one test (a full disk), where this process may mount one (root with the capability); skipped elsewhere, saying why.</summary>
public sealed class TinyFileSystemFactAttribute : FactAttribute
{
    private static readonly Lazy<string?> Unavailable = new(() =>
    {
        try
        {
            using var mount = TinyFileSystem.Mount();
            return null;
        }
        catch (InvalidOperationException e) { return e.Message; }
    });

    public TinyFileSystemFactAttribute()
    {
        if (Unavailable.Value is { } reason) Skip = "no small file system can be mounted here: " + reason;
    }
}

/// <summary>A tmpfs of 64 KiB, unmounted and removed on disposal.</summary>
public sealed class TinyFileSystem : IDisposable
{
    public string Path { get; }

    private TinyFileSystem(string path) => Path = path;

    private static (int Code, string Error) Shell(params string[] args)
    {
        using var process = Process.Start(new ProcessStartInfo(args[0], args[1..]) { RedirectStandardError = true, RedirectStandardOutput = true })
            ?? throw new InvalidOperationException($"{args[0]} did not start");
        var error = process.StandardError.ReadToEnd();
        process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, error);
    }

    public static TinyFileSystem Mount()
    {
        var path = TestData.TempDirectory();
        try
        {
            var (code, error) = Shell("mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", path);
            if (code != 0) throw new InvalidOperationException(error.Trim());
        }
        catch (System.ComponentModel.Win32Exception e) { throw new InvalidOperationException(e.Message); }
        return new TinyFileSystem(path);
    }

    public void Dispose()
    {
        Shell("umount", Path);
        Directory.Delete(Path, recursive: true);
    }
}

/// <summary>How outputs are written: whole or not at all, with no temporary file left behind by a failure, a signal or a killed writer.</summary>
[Collection("cli")]
public class OutputFileTests
{
    private static (int Code, string Error) Cli(params string[] args) => CliRun.InProcess(args);

    private static string[] Temporaries(string dir) => Directory.GetFiles(dir, "*.tmp");

    /// <summary>kill(2): the signal within microseconds of the temporary file being seen, where a kill process takes milliseconds.</summary>
    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);

    [Fact]
    public void AWriteRemovesTheTemporaryFilesOfWritersThatNoLongerRunAndKeepsThoseOfLiveOnes()
    {
        var dir = TestData.TempDirectory();
        using var finished = Process.Start(new ProcessStartInfo("true"))!;
        finished.WaitForExit();
        var host = Environment.MachineName.Replace('-', '_');
        var dead = Path.Combine(dir, $".g.npy.otnative-{host}-{finished.Id}-0123.tmp");
        var deadOtherTarget = Path.Combine(dir, $".h.npy.otnative-{host}-{finished.Id}-89ab.tmp");
        var live = Path.Combine(dir, $".g.npy.otnative-{host}-{Environment.ProcessId}-4567.tmp");
        // Another host's file on a shared file system: its writer may be alive, whatever our process table says.
        var otherHost = Path.Combine(dir, $".g.npy.otnative-elsewhere{host}-{finished.Id}-cdef.tmp");
        foreach (var file in new[] { dead, deadOtherTarget, live, otherHost }) File.WriteAllBytes(file, new byte[1000]);
        NpyFile.Write(Path.Combine(dir, "g.npy"), new double[3, 2]);
        Assert.False(File.Exists(dead), "the temporary file of a writer that no longer runs was left");
        Assert.False(File.Exists(deadOtherTarget), "a dead writer's file for another output in the folder was left");
        Assert.True(File.Exists(live), "the temporary file of a running writer was removed");
        Assert.True(File.Exists(otherHost), "another host's temporary file was removed");
        Assert.Equal(new[] { 3, 2 }, NpyFile.Read(Path.Combine(dir, "g.npy")).Shape);
    }

    [TinyFileSystemFact]
    public void AFullDiskExitsWithTwoNamingTheTargetAndLeavesNoTemporaryFile()
    {
        using var disk = TinyFileSystem.Mount();
        var target = Path.Combine(disk.Path, "big.npy");
        var e = Assert.Throws<IOException>(() => NpyFile.Write(target, new double[10_000]));
        Assert.Contains(target, e.Message);
        Assert.DoesNotContain(".tmp", e.Message);
        Assert.Empty(Temporaries(disk.Path));

        var inputs = TestData.TempDirectory();
        NpyFile.Write(Path.Combine(inputs, "x.npy"), TestData.Cloud(3, 6_000, 2));
        var (code, error) = Cli("grad", "--x", Path.Combine(inputs, "x.npy"), "--y", Path.Combine(inputs, "x.npy"), "--eps", "0.5",
            "--max-iter", "3", "--allow-unconverged", "--out", target);
        Assert.Equal(2, code);
        Assert.Single(error.Trim().Split('\n'));
        Assert.Contains(target, error);
        Assert.DoesNotContain(".tmp", error);
        Assert.Empty(Temporaries(disk.Path));
        Assert.False(File.Exists(target));
    }

    [Fact]
    public void SigtermDuringAWriteLeavesNeitherTheTemporaryFileNorAPartialTarget()
    {
        var dir = TestData.TempDirectory();
        var x = Path.Combine(dir, "x.npy");
        NpyFile.Write(x, TestData.Cloud(8, 1_500, 3));
        var target = Path.Combine(dir, "h.npy");
        using var process = Process.Start(CliRun.ChildStart(null, "hessian", "--x", x, "--y", x, "--eps", "0.5", "--out", target))!;
        process.StandardOutput.ReadToEndAsync();
        process.StandardError.ReadToEndAsync();
        // The 162 MB Hessian takes a moment to write: the signal arrives while its temporary file exists.
        string? seen = null;
        var waited = Stopwatch.StartNew();
        while (seen is null && !process.HasExited && waited.Elapsed < TimeSpan.FromMinutes(2))
            seen = Temporaries(dir).FirstOrDefault();
        Assert.True(seen is not null, "the run ended before its output's temporary file was seen");
        Assert.Equal(0, Kill(process.Id, 15));
        Assert.True(process.WaitForExit(60_000), "the run did not end after SIGTERM");
        Assert.NotEqual(0, process.ExitCode);
        Assert.Empty(Temporaries(dir));
        Assert.False(File.Exists(target), "a target was written although the run was stopped during its write");
    }
}
