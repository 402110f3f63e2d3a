using System.Runtime.InteropServices;
using System.Text;

namespace OtNative.Interop;

/// <summary>A CUDA device as the driver describes it.</summary>
public sealed record CudaDeviceInfo(int Ordinal, string Name, int ComputeMajor, int ComputeMinor, long TotalMemoryBytes, int Multiprocessors)
{
    /// <summary>NVRTC's virtual architecture for this device, e.g. <c>compute_90</c>.</summary>
    public string VirtualArchitecture => $"compute_{ComputeMajor}{ComputeMinor}";
}

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

/// <summary>Device memory for <c>Length</c> values of <typeparamref name="T"/>; freed by Dispose (no finalizer).</summary>
public sealed unsafe class DeviceBuffer<T> : IDisposable where T : unmanaged
{
    private readonly DeviceMemoryHandle _handle;

    private DeviceBuffer(DeviceMemoryHandle handle, int length)
    {
        _handle = handle;
        Length = length;
    }

    /// <summary>The device address (a CUdeviceptr).</summary>
    /// <exception cref="ObjectDisposedException">The buffer was disposed.</exception>
    public ulong Pointer
    {
        get
        {
            ObjectDisposedException.ThrowIf(_handle.IsClosed, this);
            return (ulong)_handle.DangerousGetHandle();
        }
    }

    /// <summary>Number of elements.</summary>
    public int Length { get; }

    /// <summary>Allocates <paramref name="length"/> elements (uninitialised).</summary>
    public static DeviceBuffer<T> Allocate(int length)
    {
        ulong pointer;
        CudaDriver.Check(CudaDriver.cuMemAlloc_v2(&pointer, (nuint)(Math.Max(1, length) * sizeof(T))), $"cuMemAlloc_v2({length} × {typeof(T).Name})");
        return new DeviceBuffer<T>(new DeviceMemoryHandle(pointer), length);
    }

    /// <summary>Allocates and uploads <paramref name="values"/>.</summary>
    public static DeviceBuffer<T> Upload(ReadOnlySpan<T> values)
    {
        var buffer = Allocate(values.Length);
        buffer.CopyFrom(values);
        return buffer;
    }

    /// <summary>Host → device, the whole buffer.</summary>
    public void CopyFrom(ReadOnlySpan<T> values)
    {
        if (values.Length != Length) throw new ArgumentException($"expected {Length} values, got {values.Length}.", nameof(values));
        fixed (T* v = values) CudaDriver.Check(CudaDriver.cuMemcpyHtoD_v2(Pointer, v, (nuint)(Length * sizeof(T))), "cuMemcpyHtoD_v2");
    }

    /// <summary>Device → host, the whole buffer (synchronous).</summary>
    public T[] Download()
    {
        var values = new T[Length];
        fixed (T* v = values) CudaDriver.Check(CudaDriver.cuMemcpyDtoH_v2(v, Pointer, (nuint)(Length * sizeof(T))), "cuMemcpyDtoH_v2");
        return values;
    }

    /// <inheritdoc />
    public void Dispose() => _handle.Dispose();
}

/// <summary>
/// Device memory owned by a <see cref="SafeHandle"/>: freed exactly once, by <see cref="DeviceBuffer{T}.Dispose"/> or, for a
/// buffer its owner forgot, by the runtime's critical finalizer (the primary context lives as long as the process).
/// </summary>
internal sealed class DeviceMemoryHandle : SafeHandle
{
    public DeviceMemoryHandle(ulong pointer) : base(IntPtr.Zero, ownsHandle: true) => SetHandle((IntPtr)(long)pointer);

    /// <inheritdoc />
    public override bool IsInvalid => handle == IntPtr.Zero;

    /// <inheritdoc />
    protected override bool ReleaseHandle() => CudaDriver.cuMemFree_v2((ulong)handle) == 0;
}

/// <summary>A loaded module (PTX or fatbin image) and its kernels; the JIT's error log is kept in the exception.</summary>
public sealed unsafe class CudaModule : IDisposable
{
    private IntPtr _module;

    private CudaModule(IntPtr module) => _module = module;

    /// <summary>Loads a PTX text or a cubin/fatbin image.</summary>
    public static CudaModule Load(byte[] image)
    {
        var log = new byte[8192];
        IntPtr module;
        int status;
        fixed (byte* img = image, l = log)
        {
            var options = stackalloc int[] { CudaDriver.JitErrorLogBuffer, CudaDriver.JitErrorLogBufferSizeBytes };
            var values = stackalloc void*[] { l, (void*)(nint)log.Length };
            status = CudaDriver.cuModuleLoadDataEx(&module, img, 2, options, values);
        }
        if (status != 0) throw new KernelCompileException("CUDA driver", "cuModuleLoadDataEx", status, Encoding.UTF8.GetString(log).TrimEnd('\0'));
        return new CudaModule(module);
    }

    /// <summary>Loads PTX text.</summary>
    public static CudaModule LoadPtx(string ptx) => Load(Encoding.UTF8.GetBytes(ptx + "\0"));

    /// <summary>The kernel with this <c>extern "C"</c> name.</summary>
    public CudaKernel Kernel(string name)
    {
        IntPtr function;
        var bytes = Encoding.UTF8.GetBytes(name + "\0");
        fixed (byte* n = bytes) CudaDriver.Check(CudaDriver.cuModuleGetFunction(&function, _module, n), $"cuModuleGetFunction({name})");
        return new CudaKernel(name, function);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_module == IntPtr.Zero) return;
        CudaDriver.cuModuleUnload(_module);
        _module = IntPtr.Zero;
    }
}

/// <summary>One kernel function; launched with argument pointers, as cuLaunchKernel takes them.</summary>
public sealed unsafe class CudaKernel
{
    private readonly IntPtr _function;

    internal CudaKernel(string name, IntPtr function)
    {
        Name = name;
        _function = function;
    }

    /// <summary>The kernel's name.</summary>
    public string Name { get; }

    /// <summary>
    /// Launches a 1-D grid on <paramref name="stream"/>. Arguments in the kernel's order: <c>int</c>, <c>double</c>, a
    /// device address (<c>ulong</c>) or a <see cref="DeviceBuffer{T}"/> of double or int.
    /// </summary>
    public void Launch(uint gridX, uint blockX, IntPtr stream, params object[] arguments)
    {
        // cuLaunchKernel takes the address of each argument's value: one 8-byte slot per argument.
        var slots = stackalloc ulong[arguments.Length];
        var pointers = stackalloc void*[arguments.Length];
        for (int i = 0; i < arguments.Length; i++)
        {
            switch (arguments[i])
            {
                case int v: *(int*)&slots[i] = v; break;
                case double v: *(double*)&slots[i] = v; break;
                case ulong v: slots[i] = v; break;
                case DeviceBuffer<double> b: slots[i] = b.Pointer; break;
                case DeviceBuffer<int> b: slots[i] = b.Pointer; break;
                default: throw new ArgumentException($"{Name}: argument {i} has unsupported type {arguments[i]?.GetType().Name ?? "null"}.", nameof(arguments));
            }
            pointers[i] = &slots[i];
        }
        CudaDriver.Check(CudaDriver.cuLaunchKernel(_function, gridX, 1, 1, blockX, 1, 1, 0, stream, pointers, null), $"cuLaunchKernel({Name})");
    }
}

/// <summary>A cuBLAS handle bound to a context's stream.</summary>
public sealed unsafe class BlasHandle : IDisposable
{
    private BlasHandle(IntPtr handle) => Handle = handle;

    /// <summary>The cublasHandle_t.</summary>
    public IntPtr Handle { get; private set; }

    /// <summary>Creates the handle on <paramref name="context"/>'s stream.</summary>
    public static BlasHandle Create(CudaContext context)
    {
        context.MakeCurrent();
        IntPtr handle;
        CuBlas.Check(CuBlas.cublasCreate_v2(&handle), "cublasCreate_v2");
        CuBlas.Check(CuBlas.cublasSetStream_v2(handle, context.Stream), "cublasSetStream_v2");
        return new BlasHandle(handle);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (Handle == IntPtr.Zero) return;
        CuBlas.cublasDestroy_v2(Handle);
        Handle = IntPtr.Zero;
    }
}

/// <summary>A cuSOLVER dense handle bound to a context's stream; <see cref="CheckInfo"/> reads devInfo after every factorisation.</summary>
public sealed unsafe class SolverHandle : IDisposable
{
    private SolverHandle(IntPtr handle) => Handle = handle;

    /// <summary>The cusolverDnHandle_t.</summary>
    public IntPtr Handle { get; private set; }

    /// <summary>Creates the handle on <paramref name="context"/>'s stream.</summary>
    public static SolverHandle Create(CudaContext context)
    {
        context.MakeCurrent();
        IntPtr handle;
        CuSolver.Check(CuSolver.cusolverDnCreate(&handle), "cusolverDnCreate");
        CuSolver.Check(CuSolver.cusolverDnSetStream(handle, context.Stream), "cusolverDnSetStream");
        return new SolverHandle(handle);
    }

    /// <summary>Throws when a factorisation's devInfo is not 0 (negative: bad argument; positive: it did not converge or is not PD).</summary>
    public static void CheckInfo(DeviceBuffer<int> devInfo, string call)
    {
        var info = devInfo.Download()[0];
        if (info != 0) throw new CudaException("cuSOLVER", call, info, info < 0 ? $"argument {-info} is invalid" : $"devInfo = {info}: the factorisation failed");
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (Handle == IntPtr.Zero) return;
        CuSolver.cusolverDnDestroy(Handle);
        Handle = IntPtr.Zero;
    }
}
