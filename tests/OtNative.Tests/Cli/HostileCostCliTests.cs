using Xunit;

namespace OtNative.Tests;

/// <summary><c>--cost</c> spelled oddly: usage errors that say it is the cost that is wrong.</summary>
[Collection("cli")]
public class HostileCostCliTests
{
    [Theory]
    [InlineData("solve")]
    [InlineData("grad")]
    [InlineData("batch")]
    public void AMahalanobisCostWithoutAFileIsAUsageErrorAboutTheCost(string command)
    {
        var dir = TestData.TempDirectory();
        var x = Path.Combine(dir, "x.npy");
        NpyFile.Write(x, TestData.Cloud(1, 4, 2));
        // The empty path was read as a file: "File not found:", with no word of --cost.
        File.WriteAllText(Path.Combine(dir, "pairs.txt"), "x.npy x.npy\n");
        string[] input = command == "batch" ? ["--pairs", Path.Combine(dir, "pairs.txt"), "--json", Path.Combine(dir, "b.json")] : ["--x", x, "--y", x];
        string[] output = command == "grad" ? ["--out", Path.Combine(dir, "g.npy")] : [];
        var (code, error) = CliRun.InProcess([command, .. input, "--eps", "0.2", "--cost", "mahalanobis:", .. output]);
        Assert.Equal(2, code);
        Assert.Contains("--cost", error);
        Assert.Contains("mahalanobis:M.npy", error);
    }
}
