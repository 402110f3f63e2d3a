using Xunit;

namespace OtNative.Tests;

/// <summary>Bad inputs to Datasets and OtNativeEnvironment: each refused with its own exception, naming the parameter or the line.</summary>
public class DatasetInputTests
{
    private static string Off(string text)
    {
        var path = Path.Combine(TestData.TempDirectory(), "mesh.off");
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public void MalformedOffCountsAndCoordinatesNameTheLine()
    {
        var rng = new Random(1);
        // Two counts that overflow int when added threw IndexOutOfRangeException; a negative one said "count = -9".
        var huge = Assert.Throws<FormatException>(() => Datasets.SampleOffSurface(rng, Off("OFF\n2000000000 2000000000 0\n0 0 0\n"), 10));
        Assert.Contains("OFF line 2", huge.Message);
        Assert.Contains("vertex count -3", Assert.Throws<FormatException>(() => Datasets.SampleOffSurface(rng, Off("OFF\n-3 1 0\n0 0 0\n"), 10)).Message);
        Assert.Contains("face count 1.5", Assert.Throws<FormatException>(() => Datasets.SampleOffSurface(rng, Off("OFF\n3 1.5 0\n0 0 0\n1 0 0\n0 1 0\n3 0 1 2\n"), 10)).Message);
        // A NaN vertex read as a mesh of zero area.
        Assert.Contains("OFF line 3", Assert.Throws<FormatException>(() => Datasets.SampleOffSurface(rng, Off("OFF\n3 1 0\nNaN 0 0\n1 0 0\n0 1 0\n3 0 1 2\n"), 10)).Message);
        Assert.Equal(10, Datasets.SampleOffSurface(rng, Off("OFF\n3 1 0\n0 0 0\n1 0 0\n0 1 0\n3 0 1 2\n"), 10).GetLength(0));
    }

    [Fact]
    public void RegistrationAndSizesAreCheckedUpFront()
    {
        var rng = new Random(2);
        var source = Datasets.UniformCube(rng, 6, 3);
        // A NaN scale made NaN targets; an empty source an empty problem.
        Assert.Equal("scale", Assert.ThrowsAny<ArgumentException>(() => Datasets.Registration(rng, source, double.NaN, 0, 0)).ParamName);
        Assert.Equal("noise", Assert.ThrowsAny<ArgumentException>(() => Datasets.Registration(rng, source, 1, -1, 0)).ParamName);
        Assert.Equal("startStd", Assert.ThrowsAny<ArgumentException>(() => Datasets.Registration(rng, source, 1, 0, double.PositiveInfinity)).ParamName);
        Assert.Equal("source", Assert.ThrowsAny<ArgumentException>(() => Datasets.Registration(rng, new double[0, 3], 1, 0, 0)).ParamName);
        Assert.Equal(6, Datasets.Registration(rng, source, 1.2, 0.01, 0.1).Y.GetLength(0));
        // rows × columns overflowing int said "count = -2".
        Assert.Equal("rows", Assert.Throws<ArgumentOutOfRangeException>(() => Datasets.UniformCube(rng, int.MaxValue, 2)).ParamName);
        Assert.Equal("rows", Assert.Throws<ArgumentOutOfRangeException>(() => Datasets.StandardNormal(rng, int.MaxValue, 2)).ParamName);
        // size² overflowed int: 100 001 asked for 11 GB and the process was killed.
        Assert.Equal("size", Assert.Throws<ArgumentOutOfRangeException>(() => OtNativeEnvironment.MeasureGramGflops(100_001)).ParamName);
        Assert.True(OtNativeEnvironment.MeasureGramGflops(3) > 0);
    }
}
