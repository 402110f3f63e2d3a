using System.Diagnostics;
using System.Reflection;
using Xunit;

// `OtNative.DeviceRunner tests [NAME-FILTER…]` runs the [Fact] tests of OtNative.Tests whose class name contains a
// filter (all when none), honouring Skip, and prints "N passed, N failed, N skipped". `OtNative.DeviceRunner
// properties [NAME-FILTER…]` runs the core tests' problem properties the same way (on the MPI backend inside an
// mpiexec job of two or more ranks, else on every local backend). `OtNative.DeviceRunner cli …` runs the otnative
// command line. A minimal runner: the GPU machines have no .NET SDK and so no `dotnet test`, and
// tests under `mpiexec` need each rank to be one plain process.
if (args.Length > 0 && args[0] == "cli") return OtNative.Cli.Program.Run(args[1..]);
if (args.Length > 0 && args[0] == "properties")
{
    var (propertiesPassed, propertiesFailed) = OtNative.Core.Tests.DistributedProperties.run(args[1..]);
    Console.WriteLine($"{propertiesPassed} passed, {propertiesFailed} failed, 0 skipped");
    return propertiesFailed == 0 ? 0 : 1;
}
if (args.Length == 0 || args[0] != "tests")
{
    Console.Error.WriteLine("usage: OtNative.DeviceRunner tests [CLASS-FILTER…] | properties [NAME-FILTER…] | cli <otnative arguments>");
    return 2;
}
var filters = args[1..];
int passed = 0, failed = 0, skipped = 0;
var assembly = typeof(OtNative.Tests.CudaBackendTests).Assembly;
foreach (var type in assembly.GetTypes().Where(t => t.IsClass && t.IsPublic && !t.IsAbstract && (filters.Length == 0 || filters.Any(f => t.Name.Contains(f, StringComparison.Ordinal)))))
    foreach (var method in type.GetMethods().Where(m => m.GetCustomAttributes<FactAttribute>().Any() && m.GetParameters().Length == 0))
    {
        var fact = method.GetCustomAttribute<FactAttribute>()!;
        var name = $"{type.Name}.{method.Name}";
        if (fact.Skip is { } reason)
        {
            skipped++;
            Console.WriteLine($"SKIP {name}: {reason}");
            continue;
        }
        var sw = Stopwatch.StartNew();
        try
        {
            var instance = Activator.CreateInstance(type);
            method.Invoke(instance, null);
            (instance as IDisposable)?.Dispose();
            passed++;
            Console.WriteLine($"PASS {name} ({sw.Elapsed.TotalSeconds:F2} s)");
        }
        catch (TargetInvocationException e)
        {
            failed++;
            Console.WriteLine($"FAIL {name} ({sw.Elapsed.TotalSeconds:F2} s): {e.InnerException?.GetType().Name}: {e.InnerException?.Message}");
        }
    }
// Tests under mpiexec share one MPI session; every rank finalises it before exiting.
OtNative.MpiSession.Current?.Dispose();
Console.WriteLine($"{passed} passed, {failed} failed, {skipped} skipped");
return failed == 0 ? 0 : 1;
