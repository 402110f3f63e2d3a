using System.Runtime.InteropServices;

namespace OtNative.Interop;

/// <summary>
/// Raw CUDA driver API (<c>libcuda.so.1</c>), exact C names with their <c>_v2</c> entry points. Every call returns a
/// CUresult (0 = success); <see cref="Check"/> turns the others into <see cref="CudaException"/>. Without a driver each
/// entry point throws <see cref="DllNotFoundException"/>: check <see cref="CudaDriverProbe"/> first.
/// </summary>
internal static unsafe class CudaDriver
{
    /// <summary>Logical library name (candidates in <see cref="NativeResolver.Candidates"/>).</summary>
    public const string Library = "otnative-cuda-driver";

    /// <summary>CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR / MINOR, MULTIPROCESSOR_COUNT.</summary>
    public const int AttributeComputeCapabilityMajor = 75, AttributeComputeCapabilityMinor = 76, AttributeMultiprocessorCount = 16;

    /// <summary>CU_JIT_ERROR_LOG_BUFFER and CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES.</summary>
    public const int JitErrorLogBuffer = 5, JitErrorLogBufferSizeBytes = 6;

    [DllImport(Library)] public static extern int cuInit(uint flags);
    [DllImport(Library)] public static extern int cuDriverGetVersion(int* version);
    [DllImport(Library)] public static extern int cuDeviceGetCount(int* count);
    [DllImport(Library)] public static extern int cuDeviceGet(int* device, int ordinal);
    [DllImport(Library)] public static extern int cuDeviceGetName(byte* name, int length, int device);
    [DllImport(Library)] public static extern int cuDeviceGetAttribute(int* value, int attribute, int device);
    [DllImport(Library)] public static extern int cuDeviceTotalMem_v2(nuint* bytes, int device);
    [DllImport(Library)] public static extern int cuDevicePrimaryCtxRetain(IntPtr* context, int device);
    [DllImport(Library)] public static extern int cuDevicePrimaryCtxRelease_v2(int device);
    [DllImport(Library)] public static extern int cuCtxSetCurrent(IntPtr context);
    [DllImport(Library)] public static extern int cuCtxSynchronize();
    [DllImport(Library)] public static extern int cuMemAlloc_v2(ulong* pointer, nuint bytes);
    [DllImport(Library)] public static extern int cuMemFree_v2(ulong pointer);
    [DllImport(Library)] public static extern int cuMemcpyHtoD_v2(ulong destination, void* source, nuint bytes);
    [DllImport(Library)] public static extern int cuMemcpyDtoH_v2(void* destination, ulong source, nuint bytes);
    [DllImport(Library)] public static extern int cuMemGetInfo_v2(nuint* free, nuint* total);
    [DllImport(Library)] public static extern int cuModuleLoadDataEx(IntPtr* module, void* image, uint optionCount, int* options, void** optionValues);
    [DllImport(Library)] public static extern int cuModuleUnload(IntPtr module);
    [DllImport(Library)] public static extern int cuModuleGetFunction(IntPtr* function, IntPtr module, byte* name);
    [DllImport(Library)] public static extern int cuLaunchKernel(IntPtr function, uint gridX, uint gridY, uint gridZ, uint blockX, uint blockY, uint blockZ,
        uint sharedBytes, IntPtr stream, void** parameters, void** extra);
    [DllImport(Library)] public static extern int cuStreamCreate(IntPtr* stream, uint flags);
    [DllImport(Library)] public static extern int cuStreamDestroy_v2(IntPtr stream);
    [DllImport(Library)] public static extern int cuStreamSynchronize(IntPtr stream);
    [DllImport(Library)] public static extern int cuGetErrorName(int status, byte** name);
    [DllImport(Library)] public static extern int cuGetErrorString(int status, byte** text);

    /// <summary>Throws <see cref="CudaException"/> with the driver's own name and text for a non-zero CUresult.</summary>
    public static void Check(int status, string call)
    {
        if (status == 0) return;
        byte* name = null, text = null;
        cuGetErrorName(status, &name);
        cuGetErrorString(status, &text);
        throw new CudaException("CUDA driver", call, status,
            $"{(name == null ? "CUDA_ERROR" : Marshal.PtrToStringUTF8((IntPtr)name))}: {(text == null ? "unknown error" : Marshal.PtrToStringUTF8((IntPtr)text))}");
    }
}
