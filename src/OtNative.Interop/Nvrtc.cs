using System.Runtime.InteropServices;
using System.Text;

namespace OtNative.Interop;

/// <summary>Raw NVRTC (<c>libnvrtc.so.13/.12/.11.2</c>) and a safe compile-to-PTX helper.</summary>
internal static unsafe class Nvrtc
{
    /// <summary>Logical library name (candidates in <see cref="NativeResolver.Candidates"/>).</summary>
    public const string Library = "otnative-nvrtc";

    [DllImport(Library)] public static extern int nvrtcVersion(int* major, int* minor);
    [DllImport(Library)] public static extern int nvrtcCreateProgram(IntPtr* program, byte* source, byte* name, int headerCount, byte** headers, byte** includeNames);
    [DllImport(Library)] public static extern int nvrtcDestroyProgram(IntPtr* program);
    [DllImport(Library)] public static extern int nvrtcCompileProgram(IntPtr program, int optionCount, byte** options);
    [DllImport(Library)] public static extern int nvrtcGetPTXSize(IntPtr program, nuint* size);
    [DllImport(Library)] public static extern int nvrtcGetPTX(IntPtr program, byte* ptx);
    [DllImport(Library)] public static extern int nvrtcGetProgramLogSize(IntPtr program, nuint* size);
    [DllImport(Library)] public static extern int nvrtcGetProgramLog(IntPtr program, byte* log);
    [DllImport(Library)] public static extern byte* nvrtcGetErrorString(int status);

    /// <summary>Whether an NVRTC library loads here.</summary>
    public static bool IsAvailable => NativeResolver.Get(Library) is { } lib && lib.Export("nvrtcCompileProgram") != IntPtr.Zero;

    /// <summary>"NVRTC 11.8 (libnvrtc.so.11.2)", or why there is none.</summary>
    public static string Description
    {
        get
        {
            if (!IsAvailable) return "no NVRTC (Debian non-free: apt-get install libnvrtc11.2)";
            int major, minor;
            nvrtcVersion(&major, &minor);
            return $"NVRTC {major}.{minor} ({NativeResolver.Get(Library)!.Name})";
        }
    }

    private static void Check(int status, string call)
    {
        if (status != 0) throw new CudaException("NVRTC", call, status, Marshal.PtrToStringUTF8((IntPtr)nvrtcGetErrorString(status)) ?? "unknown");
    }

    /// <summary>
    /// Compiles CUDA C++ source to PTX for a virtual architecture (<c>compute_80</c> …). <paramref name="headers"/> maps
    /// include names to their text. A compile error throws <see cref="KernelCompileException"/> with NVRTC's log.
    /// </summary>
    public static string CompileToPtx(string source, string name, IReadOnlyDictionary<string, string> headers, string architecture, params string[] extraOptions)
    {
        var pinned = new List<GCHandle>();
        byte* Utf8(string s)
        {
            var bytes = Encoding.UTF8.GetBytes(s + "\0");
            var handle = GCHandle.Alloc(bytes, GCHandleType.Pinned);
            pinned.Add(handle);
            return (byte*)handle.AddrOfPinnedObject();
        }
        IntPtr program = IntPtr.Zero;
        try
        {
            var headerTexts = headers.Values.Select(h => (IntPtr)Utf8(h)).ToArray();
            var headerNames = headers.Keys.Select(h => (IntPtr)Utf8(h)).ToArray();
            fixed (IntPtr* texts = headerTexts, names = headerNames)
                Check(nvrtcCreateProgram(&program, Utf8(source), Utf8(name), headers.Count, (byte**)texts, (byte**)names), "nvrtcCreateProgram");
            var options = new[] { $"--gpu-architecture={architecture}", "--std=c++17", "-default-device" }.Concat(extraOptions).Select(o => (IntPtr)Utf8(o)).ToArray();
            int status;
            fixed (IntPtr* opts = options) status = nvrtcCompileProgram(program, options.Length, (byte**)opts);
            nuint logSize;
            Check(nvrtcGetProgramLogSize(program, &logSize), "nvrtcGetProgramLogSize");
            var log = new byte[(int)logSize];
            fixed (byte* l = log) Check(nvrtcGetProgramLog(program, l), "nvrtcGetProgramLog");
            var logText = Encoding.UTF8.GetString(log).TrimEnd('\0');
            if (status != 0) throw new KernelCompileException("NVRTC", $"nvrtcCompileProgram({name}, {architecture})", status, logText);
            nuint ptxSize;
            Check(nvrtcGetPTXSize(program, &ptxSize), "nvrtcGetPTXSize");
            var ptx = new byte[(int)ptxSize];
            fixed (byte* p = ptx) Check(nvrtcGetPTX(program, p), "nvrtcGetPTX");
            return Encoding.UTF8.GetString(ptx).TrimEnd('\0');
        }
        finally
        {
            if (program != IntPtr.Zero) nvrtcDestroyProgram(&program);
            foreach (var h in pinned) h.Free();
        }
    }
}
