using System.Runtime.InteropServices;

namespace OtNative.Interop;

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
