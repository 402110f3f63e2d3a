using System.Reflection;
using Xunit;

namespace OtNative.Tests;

/// <summary>The façade assembly speaks plain .NET: no F# type, no core type, no System.Tuple in any public signature.</summary>
public class PublicSurfaceTests
{
    private static readonly Assembly Facade = typeof(EntropicOT).Assembly;

    private static readonly HashSet<string> ForeignAssemblies = ["FSharp.Core", "OtNative.Core", "OtNative.Applications", "OtNative.Interop", "OtNative.Mpi.Core", "MPI"];

    /// <summary>Why a type may not appear in a public signature, or null when it may.</summary>
    private static string? Offence(Type type)
    {
        if (type.HasElementType) return Offence(type.GetElementType()!);
        if (type.IsGenericParameter) return null;
        if (type.IsGenericType)
        {
            var definition = type.GetGenericTypeDefinition();
            if (definition.FullName is { } name && name.StartsWith("System.Tuple`", StringComparison.Ordinal)) return $"System.Tuple ({type})";
            foreach (var argument in type.GetGenericArguments())
                if (Offence(argument) is { } inner) return inner;
        }
        var assembly = type.Assembly.GetName().Name!;
        if (ForeignAssemblies.Contains(assembly)) return $"{type.FullName} from {assembly}";
        if (type.GetCustomAttributes().Any(a => a.GetType().FullName == "Microsoft.FSharp.Core.CompilationMappingAttribute")) return $"F#-compiled {type.FullName}";
        return null;
    }

    private static IEnumerable<(string Where, Type Type)> Signatures(Type owner)
    {
        const BindingFlags visible = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;
        bool Exposed(MethodBase m) => m.IsPublic || m.IsFamily || m.IsFamilyOrAssembly;
        if (owner.BaseType is { } b) yield return ($"{owner.Name} base", b);
        foreach (var i in owner.GetInterfaces()) yield return ($"{owner.Name} implements", i);
        foreach (var c in owner.GetConstructors(visible).Where(Exposed))
            foreach (var p in c.GetParameters()) yield return ($"{owner.Name}({p.Name})", p.ParameterType);
        foreach (var m in owner.GetMethods(visible).Where(Exposed))
        {
            yield return ($"{owner.Name}.{m.Name} returns", m.ReturnType);
            foreach (var p in m.GetParameters()) yield return ($"{owner.Name}.{m.Name}({p.Name})", p.ParameterType);
        }
        foreach (var f in owner.GetFields(visible).Where(f => f.IsPublic || f.IsFamily)) yield return ($"{owner.Name}.{f.Name}", f.FieldType);
        foreach (var e in owner.GetEvents(visible)) yield return ($"{owner.Name}.{e.Name}", e.EventHandlerType!);
    }

    /// <summary>What a consumer compiles against: the façade, the exceptions the core raises and the optional MPI package's façade.</summary>
    private static readonly Assembly[] CompileSurface = [Facade, typeof(OtNativeException).Assembly, typeof(MpiSession).Assembly];

    [Fact]
    public void NoFSharpOrCoreTypeAppearsInAPublicSignatureOfTheFacade()
    {
        var exported = CompileSurface.SelectMany(a => a.GetExportedTypes()).ToArray();
        Assert.Contains(typeof(HessianResult), exported);
        var offences = exported.SelectMany(Signatures)
            .Select(s => (s.Where, Why: Offence(s.Type)))
            .Where(s => s.Why is not null)
            .Select(s => $"{s.Where}: {s.Why}")
            .Distinct()
            .ToList();
        Assert.True(offences.Count == 0, "public signatures that leak implementation types:\n" + string.Join("\n", offences));
    }

    [Fact]
    public void TheCheckRecognisesWhatItMustReject()
    {
        Assert.NotNull(Offence(typeof(Microsoft.FSharp.Core.FSharpOption<double[]>)));
        Assert.NotNull(Offence(typeof(Tuple<double, int>)));
        Assert.NotNull(Offence(typeof(Core.Matrix)));
        Assert.NotNull(Offence(typeof(IReadOnlyList<Core.Matrix>)));
        Assert.NotNull(Offence(typeof(Core.HessianMethod)));
        Assert.Null(Offence(typeof((double[,] X, double[,] Y))));
        Assert.Null(Offence(typeof(IReadOnlyList<double[,]>)));
    }

    [Fact]
    public void EveryPublicTypeAUserNeedsIsInTheOtNativeNamespace()
    {
        var exported = CompileSurface.SelectMany(a => a.GetExportedTypes()).ToArray();
        Assert.All(exported, t => Assert.Equal("OtNative", t.Namespace));
        Assert.Equal("OtNative.Exceptions", typeof(CgConvergenceException).Assembly.GetName().Name);
        // The exceptions a caller catches live in the same namespace, under one base type.
        foreach (var exception in new[] { typeof(NumericalFailureException), typeof(ConvergenceException), typeof(NotPositiveDefiniteException), typeof(BatchProblemException),
                     typeof(MpiAgreementException), typeof(CgConvergenceException) })
        {
            Assert.Equal("OtNative", exception.Namespace);
            Assert.True(exception.IsSubclassOf(typeof(OtNativeException)), exception.Name);
        }
    }

    [Fact]
    public void TheCommandLineAndTheBenchmarksUseThePublicSurfaceOnly()
    {
        // Compiled against the façade alone: no implementation assembly among their references, and no friend access.
        foreach (var client in new[] { typeof(Cli.Program).Assembly, typeof(Benchmarks.ComparisonProtocol).Assembly })
        {
            var references = client.GetReferencedAssemblies().Select(a => a.Name!).ToList();
            Assert.Contains("OtNative", references);
            Assert.DoesNotContain(references, r => ForeignAssemblies.Contains(r) && r != "FSharp.Core");
        }
        var friends = Facade.GetCustomAttributes<System.Runtime.CompilerServices.InternalsVisibleToAttribute>().Select(a => a.AssemblyName).ToList();
        Assert.DoesNotContain("OtNative.Cli", friends);
        Assert.DoesNotContain("OtNative.Benchmarks", friends);
    }

    [Fact]
    public void OnlyTheMpiPackageReferencesMpiNet()
    {
        // The OtNative package's assemblies (the façade and the implementation it carries) compile without MPI.NET, whose
        // assembly is "MPI": an application that never uses MPI gets none. The OtNative.Mpi package's assemblies have it.
        var otNative = new[] { Facade, typeof(OtNativeException).Assembly, typeof(Core.OtProblem).Assembly, typeof(Interop.MpiLibrary).Assembly,
            Assembly.Load("OtNative.Applications") };
        foreach (var assembly in otNative)
            Assert.DoesNotContain(assembly.GetReferencedAssemblies(), r => r.Name == "MPI" || r.Name == "OtNative.Mpi" || r.Name == "OtNative.Mpi.Core");
        Assert.Contains(Assembly.Load("OtNative.Mpi.Core").GetReferencedAssemblies(), r => r.Name == "MPI");
        Assert.Contains(typeof(MpiSession).Assembly.GetReferencedAssemblies(), r => r.Name == "MPI");
        Assert.Equal("OtNative.Mpi", typeof(MpiSession).Assembly.GetName().Name);
        Assert.Equal("OtNative", typeof(MpiSession).Namespace);
    }

    [Fact]
    public void ComputeBackendMpiWithoutAStartedSessionSaysToAddTheMpiPackage()
    {
        if (MpiSession.Current is not null) return;   // inside an mpiexec job whose tests started one
        var (x, y) = (new double[,] { { 0.0 }, { 1.0 } }, new double[,] { { 0.5 }, { 2.0 } });
        var options = SinkhornOptions.Default with { Backend = ComputeBackend.Mpi };
        foreach (var call in new Action[]
                 {
                     () => EntropicOT.Solve(x, y, options).Dispose(),
                     () => EntropicOT.SolveBatch([(x, y)], options),
                     () => EntropicOT.TrySolveBatch([new BatchProblem(x, y)], options),
                 })
        {
            var e = Assert.Throws<NotSupportedException>(call);
            Assert.Contains("add the OtNative.Mpi package and start an MpiSession", e.Message);
        }
    }
}
