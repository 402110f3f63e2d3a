using System.Text;

namespace OtNative.Interop;

/// <summary>
/// The primary context of one device (retained on creation, released on dispose), made current on the calling thread by
/// <see cref="MakeCurrent"/>; owns one stream that cuBLAS, cuSOLVER and every launch share. Dispose releases it;
/// there is no finalizer (device memory must not be freed from the finalizer thread).
/// </summary>
public sealed unsafe class CudaContext : IDisposable
{
    private IntPtr _context;

    private CudaContext(CudaDeviceInfo device, IntPtr context, IntPtr stream)
    {
        Device = device;
        _context = context;
        Stream = stream;
    }

    /// <summary>The device.</summary>
    public CudaDeviceInfo Device { get; }

    /// <summary>The stream every operation of this context is queued on.</summary>
    public IntPtr Stream { get; }

    /// <summary>Every device the driver reports (empty without a driver or device; never throws for that).</summary>
    public static IReadOnlyList<CudaDeviceInfo> Devices()
    {
        if (!CudaDriverProbe.Probe().Available) return [];
        int count;
        CudaDriver.Check(CudaDriver.cuDeviceGetCount(&count), "cuDeviceGetCount");
        return Enumerable.Range(0, count).Select(Describe).ToArray();
    }

    private static CudaDeviceInfo Describe(int ordinal)
    {
        int device, major, minor, sms;
        nuint memory;
        var name = new byte[256];
        CudaDriver.Check(CudaDriver.cuDeviceGet(&device, ordinal), "cuDeviceGet");
        fixed (byte* n = name) CudaDriver.Check(CudaDriver.cuDeviceGetName(n, name.Length, device), "cuDeviceGetName");
        CudaDriver.Check(CudaDriver.cuDeviceGetAttribute(&major, CudaDriver.AttributeComputeCapabilityMajor, device), "cuDeviceGetAttribute");
        CudaDriver.Check(CudaDriver.cuDeviceGetAttribute(&minor, CudaDriver.AttributeComputeCapabilityMinor, device), "cuDeviceGetAttribute");
        CudaDriver.Check(CudaDriver.cuDeviceGetAttribute(&sms, CudaDriver.AttributeMultiprocessorCount, device), "cuDeviceGetAttribute");
        CudaDriver.Check(CudaDriver.cuDeviceTotalMem_v2(&memory, device), "cuDeviceTotalMem_v2");
        return new CudaDeviceInfo(ordinal, Encoding.UTF8.GetString(name).TrimEnd('\0'), major, minor, (long)memory, sms);
    }

    /// <summary>Retains the primary context of device <paramref name="ordinal"/> and creates its stream.</summary>
    public static CudaContext Open(int ordinal = 0)
    {
        var info = Describe(ordinal);
        int device;
        IntPtr context, stream;
        CudaDriver.Check(CudaDriver.cuDeviceGet(&device, ordinal), "cuDeviceGet");
        CudaDriver.Check(CudaDriver.cuDevicePrimaryCtxRetain(&context, device), "cuDevicePrimaryCtxRetain");
        CudaDriver.Check(CudaDriver.cuCtxSetCurrent(context), "cuCtxSetCurrent");
        CudaDriver.Check(CudaDriver.cuStreamCreate(&stream, 0), "cuStreamCreate");
        return new CudaContext(info, context, stream);
    }

    /// <summary>Makes the context current on this thread (every entry point calls it first).</summary>
    public void MakeCurrent()
    {
        ObjectDisposedException.ThrowIf(_context == IntPtr.Zero, this);
        CudaDriver.Check(CudaDriver.cuCtxSetCurrent(_context), "cuCtxSetCurrent");
    }

    /// <summary>Waits for everything queued on the stream.</summary>
    public void Synchronize() => CudaDriver.Check(CudaDriver.cuStreamSynchronize(Stream), "cuStreamSynchronize");

    /// <inheritdoc />
    public void Dispose()
    {
        if (_context == IntPtr.Zero) return;
        CudaDriver.cuCtxSetCurrent(_context);
        CudaDriver.cuStreamDestroy_v2(Stream);
        int device;
        CudaDriver.cuDeviceGet(&device, Device.Ordinal);
        CudaDriver.cuDevicePrimaryCtxRelease_v2(device);
        _context = IntPtr.Zero;
    }
}
