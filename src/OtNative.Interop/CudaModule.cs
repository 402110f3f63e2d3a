using System.Text;

namespace OtNative.Interop;

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
