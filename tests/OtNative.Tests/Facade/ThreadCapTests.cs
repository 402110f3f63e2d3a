using Xunit;

namespace OtNative.Tests;

/// <summary>The process-wide thread cap, set in code; alone (the "cli" collection runs by itself), since it changes every solve's cap.</summary>
[Collection("cli")]
public class ThreadCapTests
{
    [Fact]
    public void TheThreadCapIsSetInCode()
    {
        var before = OtNativeEnvironment.MaxThreads;
        try
        {
            OtNativeEnvironment.MaxThreads = 1;
            Assert.Equal(1, OtNativeEnvironment.Describe().Threads);
            Assert.Contains("CPU, 1 threads", OtNativeEnvironment.Describe().CpuBackend);
            Assert.Throws<ArgumentOutOfRangeException>(() => OtNativeEnvironment.MaxThreads = 0);
        }
        finally { OtNativeEnvironment.MaxThreads = before; }
        Assert.Equal(before, OtNativeEnvironment.Describe().Threads);
    }
}
