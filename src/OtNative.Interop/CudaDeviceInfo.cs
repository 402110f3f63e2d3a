
namespace OtNative.Interop;

/// <summary>A CUDA device as the driver describes it.</summary>
public sealed record CudaDeviceInfo(int Ordinal, string Name, int ComputeMajor, int ComputeMinor, long TotalMemoryBytes, int Multiprocessors)
{
    /// <summary>NVRTC's virtual architecture for this device, e.g. <c>compute_90</c>.</summary>
    public string VirtualArchitecture => $"compute_{ComputeMajor}{ComputeMinor}";
}
