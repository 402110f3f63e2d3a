namespace OtNative.Interop;

/// <summary>What the CUDA driver reported: whether a usable device exists, and why not otherwise.</summary>
/// <param name="Available">True when the driver loaded, initialised and reported at least one device.</param>
/// <param name="DeviceCount">Devices the driver reports (0 when unavailable).</param>
/// <param name="DriverVersion">The driver API version as CUDA encodes it (1000·major + 10·minor), 0 when unknown.</param>
/// <param name="Reason">Why the driver is unavailable, or the library that loaded.</param>
public sealed record CudaProbeResult(bool Available, int DeviceCount, int DriverVersion, string Reason);

/// <summary>
/// Asks the CUDA driver (<c>libcuda.so.1</c>) whether a device exists, through function pointers
/// resolved at run time so that machines without a driver load this assembly without error.
/// </summary>
public static unsafe class CudaDriverProbe
{
    /// <summary>Driver library names, most specific first.</summary>
    public static readonly string[] DriverCandidates = ["libcuda.so.1", "libcuda.so", "nvcuda.dll"];

    /// <summary>Loads the driver, calls cuInit, cuDriverGetVersion and cuDeviceGetCount.</summary>
    public static CudaProbeResult Probe()
    {
        var lib = NativeLibraryProbe.TryLoad(DriverCandidates);
        if (lib is null)
            return new CudaProbeResult(false, 0, 0, "no CUDA driver library (libcuda.so.1) on this machine");
        var cuInit = (delegate* unmanaged<uint, int>)lib.Export("cuInit");
        var cuDriverGetVersion = (delegate* unmanaged<int*, int>)lib.Export("cuDriverGetVersion");
        var cuDeviceGetCount = (delegate* unmanaged<int*, int>)lib.Export("cuDeviceGetCount");
        if (cuInit == null || cuDeviceGetCount == null || cuDriverGetVersion == null)
            return new CudaProbeResult(false, 0, 0, $"{lib.Name} lacks the driver entry points");
        int status = cuInit(0);
        if (status != 0)
            return new CudaProbeResult(false, 0, 0, $"cuInit failed with CUresult {status}");
        int version = 0, count = 0;
        cuDriverGetVersion(&version);
        status = cuDeviceGetCount(&count);
        if (status != 0)
            return new CudaProbeResult(false, 0, version, $"cuDeviceGetCount failed with CUresult {status}");
        return count > 0
            ? new CudaProbeResult(true, count, version, $"loaded {lib.Name}")
            : new CudaProbeResult(false, 0, version, "the CUDA driver reports no device");
    }
}
