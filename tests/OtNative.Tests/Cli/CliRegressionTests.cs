using System.Text.Json;
using OtNative.Cli;
using Xunit;

namespace OtNative.Tests;

[Collection("cli")]
public class CliRegressionTests
{
    private static JsonElement Fit(JsonDocument doc, string name) => doc.RootElement.GetProperty(name);

    [Fact]
    public void RegistrationOfAnOffMeshBeatsGradientDescentAndWritesPlotsAndSeries()
    {
        var dir = TestData.TempDirectory();
        string P(string f) => Path.Combine(dir, f);
        var off = Path.Combine(AppContext.BaseDirectory, "data", "wedge.off");
        Assert.Equal(0, Program.Run(["regress", "pointcloud", "--off", off, "--points", "150", "--eps", "0.002", "--scale", "1.3",
            "--noise", "0.005", "--gd-gap", "1e-4", "--max-gd", "1500", "--plots", P("plots"), "--json", P("r.json")]));
        using var doc = JsonDocument.Parse(File.ReadAllText(P("r.json")));
        var newton = Fit(doc, "newton");
        var gd = Fit(doc, "gd");
        foreach (var fit in new[] { newton, gd })
            foreach (var field in new[] { "iterations", "seconds", "finalLoss", "paramError" })
                Assert.Equal(JsonValueKind.Number, fit.GetProperty(field).ValueKind);
        Assert.True(newton.GetProperty("iterations").GetInt32() * 5 < gd.GetProperty("iterations").GetInt32(),
            $"Newton {newton.GetProperty("iterations")} vs GD {gd.GetProperty("iterations")}");
        Assert.True(newton.GetProperty("paramError").GetDouble() < gd.GetProperty("paramError").GetDouble());
        var losses = newton.GetProperty("series").GetProperty("loss").EnumerateArray().Select(e => e.GetDouble()).ToArray();
        Assert.Equal(newton.GetProperty("iterations").GetInt32() + 1, losses.Length);
        Assert.Equal(losses[^1], newton.GetProperty("finalLoss").GetDouble());
        foreach (var png in new[] { "loss.png", "param-error.png", "clouds.png" })
            Assert.True(new FileInfo(P(Path.Combine("plots", png))).Length > 1000, png);
    }

    [Fact]
    public void UserDataWithoutTruthRunsAndBadSettingsAreUsageErrors()
    {
        var dir = TestData.TempDirectory();
        string P(string f) => Path.Combine(dir, f);
        var problem = Datasets.GaussianMixtureRegression(4, 80, 2, 2);
        NpyFile.Write(P("x.npy"), problem.X);
        NpyFile.Write(P("y.npy"), problem.Y);
        Assert.Equal(0, Program.Run(["regress", "gmm", "--x", P("x.npy"), "--y", P("y.npy"), "--batch", "40", "--plots", P("plots"), "--json", P("u.json")]));
        using var doc = JsonDocument.Parse(File.ReadAllText(P("u.json")));
        Assert.Equal(JsonValueKind.Null, Fit(doc, "newton").GetProperty("paramError").ValueKind);
        Assert.False(File.Exists(P(Path.Combine("plots", "param-error.png"))));
        Assert.Equal(2, Program.Run(["regress", "gmm", "-n", "50", "--batch", "80"]));
        Assert.Equal(2, Program.Run(["regress", "gmm", "--newton-lr", "-1"]));
        Assert.Equal(2, Program.Run(["regress", "pointcloud", "--off", P("missing.off")]));
        Assert.Equal(2, Program.Run(["regress", "gmm", "--x", P("x.npy")]));
    }
}
