
namespace OtNative.Interop;

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
