using OtNative.Core;
using OtNative.Interop;
using Spectre.Console;
using Spectre.Console.Cli;

namespace OtNative.Cli.Commands;

/// <summary><c>otnative info</c>: what can run here.</summary>
public sealed class InfoCommand : Command
{
    public override int Execute(CommandContext context, CancellationToken cancellation)
    {
        var cpu = (IBackend)CpuBackend.Instance;
        var cuda = CudaDriverProbe.Probe();
        var table = new Table().AddColumn("component").AddColumn("status");
        table.AddRow("OtNative", typeof(EntropicOT).Assembly.GetName().Version?.ToString() ?? "?");
        table.AddRow(".NET", Environment.Version.ToString());
        table.AddRow("cpu backend", Markup.Escape(cpu.Description));
        table.AddRow("simd", Markup.Escape($"kernels at {Simd.describe(CpuBackend.Instance.Width)}; widest the processor runs: {Simd.name(Simd.widest)}" +
            (Environment.GetEnvironmentVariable("OTNATIVE_SIMD") is { Length: > 0 } forced ? $"; OTNATIVE_SIMD={forced}" : "")));
        table.AddRow("linear algebra", Markup.Escape(((IBackend)CpuBackend.Instance).LinearAlgebra.Name + (LinearAlgebraProviders.native is null ? $" — native unavailable: {NativeLapack.Description}" : "")));
        table.AddRow("cuda driver", Markup.Escape(cuda.Available
            ? $"{cuda.DeviceCount} device(s), driver API {cuda.DriverVersion / 1000}.{cuda.DriverVersion % 1000 / 10}"
            : $"unavailable: {cuda.Reason}"));
        foreach (var device in CudaContext.Devices())
            table.AddRow($"cuda device {device.Ordinal}", Markup.Escape($"{device.Name}, compute {device.ComputeMajor}.{device.ComputeMinor}, " +
                $"{device.TotalMemoryBytes / 1073741824.0:F1} GiB, {device.Multiprocessors} SMs"));
        table.AddRow("cuda backend", Markup.Escape(((IBackend)CudaBackend.Instance).Description));
        table.AddRow("nvrtc", Markup.Escape(Nvrtc.Description));
        foreach (var (name, logical) in new[] { ("cublas", CuBlas.Library), ("cusolver", CuSolver.Library) })
            table.AddRow(name, Markup.Escape(NativeResolver.Get(logical)?.Name ?? "not found (" + string.Join(", ", NativeResolver.Candidates[logical]) + ")"));
        table.AddRow("mpi", Markup.Escape(MpiSession.IsAvailable
            ? $"{MpiSession.Description}; this job: {MpiSession.LaunchedRanks} rank(s) (--mpi under mpiexec -n K)"
            : MpiSession.Description));
        AnsiConsole.Write(table);
        return 0;
    }
}
