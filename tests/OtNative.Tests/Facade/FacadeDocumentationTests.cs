using System.Reflection;
using System.Runtime.CompilerServices;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using Xunit;
using Xunit.Abstractions;

namespace OtNative.Tests;

/// <summary>
/// The XML documentation a package user reads in the IDE: every public (or protected) type and member of the assemblies
/// a consumer compiles against — the façade, OtNative.Exceptions and OtNative.Mpi — has a summary, each parameter a
/// <c>&lt;param&gt;</c>, each method that returns something a <c>&lt;returns&gt;</c>, and nothing points at a file of
/// this repository the package does not ship. Read from the documentation files the build writes beside the assemblies
/// (OtNative.xml, OtNative.Exceptions.xml, OtNative.Mpi.xml, copied into this test's output), matched to the members by reflection.
/// </summary>
public class FacadeDocumentationTests(ITestOutputHelper output)
{
    private static readonly Assembly[] CompileSurface = [typeof(EntropicOT).Assembly, typeof(OtNativeException).Assembly, typeof(MpiSession).Assembly];

    private const BindingFlags Declared = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;

    /// <summary>The documentation file of an assembly, by member ID (<c>T:</c>, <c>M:</c>, <c>P:</c>, <c>F:</c>, <c>E:</c>).</summary>
    private static Dictionary<string, XElement> Documentation(Assembly assembly)
    {
        var path = Path.Combine(AppContext.BaseDirectory, assembly.GetName().Name + ".xml");
        Assert.True(File.Exists(path), $"{path} is missing: the build writes it (GenerateDocumentationFile) and copies it beside the tests.");
        return XDocument.Load(path).Descendants("member").ToDictionary(m => (string)m.Attribute("name")!);
    }

    // ---- Documentation IDs (the C# compiler's, ECMA-334 annex D) ----

    private static string TypeName(Type t) => t.IsNested ? $"{TypeName(t.DeclaringType!)}.{t.Name}" : $"{t.Namespace}.{t.Name}";

    private static string TypeId(Type t) => "T:" + TypeName(t);

    /// <summary>A type as it appears in a member's parameter list.</summary>
    private static string Signature(Type t)
    {
        if (t.IsGenericParameter) return (t.DeclaringMethod is null ? "`" : "``") + t.GenericParameterPosition;
        if (t.IsByRef) return Signature(t.GetElementType()!) + "@";
        if (t.IsPointer) return Signature(t.GetElementType()!) + "*";
        if (t.IsArray)
            return Signature(t.GetElementType()!) + (t.IsSZArray ? "[]" : "[" + string.Join(",", Enumerable.Repeat("0:", t.GetArrayRank())) + "]");
        if (t.IsGenericType)
        {
            var definition = TypeName(t.GetGenericTypeDefinition());
            var tick = definition.LastIndexOf('`');
            return $"{(tick < 0 ? definition : definition[..tick])}{{{string.Join(",", t.GetGenericArguments().Select(Signature))}}}";
        }
        return TypeName(t);
    }

    private static string Parameters(ParameterInfo[] parameters) =>
        parameters.Length == 0 ? "" : "(" + string.Join(",", parameters.Select(p => Signature(p.ParameterType))) + ")";

    private static string MethodId(MethodBase m)
    {
        var name = m is ConstructorInfo ? (m.IsStatic ? "#cctor" : "#ctor") : m.Name.Replace('.', '#');
        var arity = m is MethodInfo { IsGenericMethodDefinition: true } g ? "``" + g.GetGenericArguments().Length : "";
        var conversion = m.Name is "op_Implicit" or "op_Explicit" ? "~" + Signature(((MethodInfo)m).ReturnType) : "";
        return $"M:{TypeName(m.DeclaringType!)}.{name}{arity}{Parameters(m.GetParameters())}{conversion}";
    }

    // ---- What is checked ----

    private static bool Exposed(MethodBase m) => m.IsPublic || m.IsFamily || m.IsFamilyOrAssembly;

    /// <summary>Members the compiler writes (a record's Equals, ToString, Deconstruct, clone …): they have no source to document.</summary>
    private static bool Synthesized(MemberInfo m) => m.IsDefined(typeof(CompilerGeneratedAttribute), false) || m.Name.Contains('<');

    /// <summary>A parameter list as a reader tells overloads apart: <c>(double[,], double[,], SinkhornOptions, …)</c>.</summary>
    private static string Shown(ParameterInfo[] parameters) => "(" + string.Join(", ", parameters.Select(p => p.ParameterType.Name)) + ")";

    private sealed record Checked(string Id, string Where, XElement? Doc, ParameterInfo[] Parameters, bool Returns, XElement? TypeDoc = null);

    /// <summary>Every documented thing of a type: the type itself, its constructors, methods, properties, fields and events.</summary>
    private static IEnumerable<Checked> Members(Type type, Dictionary<string, XElement> docs)
    {
        var typeDoc = docs.GetValueOrDefault(TypeId(type));
        var delegateInvoke = typeof(Delegate).IsAssignableFrom(type) ? type.GetMethod("Invoke") : null;
        yield return new Checked(TypeId(type), type.FullName!, typeDoc, delegateInvoke?.GetParameters() ?? [],
            delegateInvoke is not null && delegateInvoke.ReturnType != typeof(void));
        if (delegateInvoke is not null) yield break;
        foreach (var c in type.GetConstructors(Declared).Where(c => Exposed(c) && !Synthesized(c)))
        {
            var id = MethodId(c);
            // A parameterless constructor without an entry is the one the compiler adds to a class that declares none.
            if (c.GetParameters().Length == 0 && !docs.ContainsKey(id)) continue;
            yield return new Checked(id, $"{type.FullName}{Shown(c.GetParameters())}", docs.GetValueOrDefault(id), c.GetParameters(), false);
        }
        foreach (var m in type.GetMethods(Declared).Where(m => Exposed(m) && !Synthesized(m) && (!m.IsSpecialName || m.Name.StartsWith("op_", StringComparison.Ordinal))))
        {
            var id = MethodId(m);
            yield return new Checked(id, $"{type.FullName}.{m.Name}{Shown(m.GetParameters())}", docs.GetValueOrDefault(id), m.GetParameters(), m.ReturnType != typeof(void));
        }
        foreach (var p in type.GetProperties(Declared).Where(p => p.GetAccessors(true).Any(Exposed) && !Synthesized(p)))
        {
            var id = $"P:{TypeName(type)}.{p.Name}{Parameters(p.GetIndexParameters())}";
            // A record's positional property is documented by the <param> of that name on the record.
            yield return new Checked(id, $"{type.FullName}.{p.Name}", docs.GetValueOrDefault(id), p.GetIndexParameters(), false, typeDoc);
        }
        foreach (var f in type.GetFields(Declared).Where(f => (f.IsPublic || f.IsFamily || f.IsFamilyOrAssembly) && !f.IsSpecialName && !Synthesized(f)))
        {
            var id = $"F:{TypeName(type)}.{f.Name}";
            yield return new Checked(id, $"{type.FullName}.{f.Name}", docs.GetValueOrDefault(id), [], false);
        }
        foreach (var e in type.GetEvents(Declared).Where(e => e.AddMethod is { } add && Exposed(add)))
        {
            var id = $"E:{TypeName(type)}.{e.Name}";
            yield return new Checked(id, $"{type.FullName}.{e.Name}", docs.GetValueOrDefault(id), [], false);
        }
    }

    private static bool HasText(XElement? e) => e is not null && (e.Value.Trim().Length > 0 || e.HasElements);

    /// <summary>What the member's documentation lacks, one entry per gap.</summary>
    private static IEnumerable<string> Gaps(Checked c)
    {
        if (c.Doc is null)
        {
            // A positional record parameter's property: the record's <param> is its documentation.
            var param = c.TypeDoc?.Elements("param").FirstOrDefault(p => (string?)p.Attribute("name") == c.Id[(c.Id.LastIndexOf('.') + 1)..]);
            if (!HasText(param)) yield return $"{c.Where}: no documentation";
            yield break;
        }
        if (c.Doc.Element("inheritdoc") is not null) yield break;
        if (!HasText(c.Doc.Element("summary"))) yield return $"{c.Where}: no <summary>";
        var documented = c.Doc.Elements("param").Where(HasText).Select(p => (string?)p.Attribute("name")).ToHashSet();
        foreach (var p in c.Parameters.Where(p => !documented.Contains(p.Name)))
            yield return $"{c.Where}: no <param name=\"{p.Name}\">";
        if (c.Returns && !HasText(c.Doc.Element("returns"))) yield return $"{c.Where}: no <returns>";
    }

    /// <summary>What a package user cannot follow: a file of this repository, a section of it, or "the paper".</summary>
    private static readonly string[] Unfollowable = ["math.md", "docs/", "§", "the paper"];

    /// <summary>A numbered result of a publication: it needs the citation beside it.</summary>
    private static readonly Regex NumberedResult = new(@"\b(Theorem|Proposition|Lemma|Algorithm|Section|eq\.)\s*\d", RegexOptions.Compiled);

    /// <summary>The paper whose results the derivatives implement, as the documentation cites it.</summary>
    private const string Citation = "Li et al. 2024";

    [Fact]
    public void EveryPublicTypeAndMemberIsDocumented()
    {
        var gaps = new List<string>();
        var count = 0;
        foreach (var assembly in CompileSurface)
        {
            var docs = Documentation(assembly);
            foreach (var type in assembly.GetExportedTypes().OrderBy(t => t.FullName, StringComparer.Ordinal))
                foreach (var member in Members(type, docs))
                {
                    count++;
                    gaps.AddRange(Gaps(member));
                }
        }
        output.WriteLine($"{count} public types and members checked; {gaps.Count} gaps");
        Assert.True(count > 300, $"only {count} members found: the reflection missed the surface");
        Assert.True(gaps.Count == 0, $"{gaps.Count} documentation gaps:\n" + string.Join("\n", gaps));
    }

    [Fact]
    public void NoDocumentationPointsAtARepositoryFile()
    {
        static string? Offence(string text) =>
            Unfollowable.FirstOrDefault(u => text.Contains(u, StringComparison.OrdinalIgnoreCase))
            ?? (NumberedResult.Match(text) is { Success: true } m && !text.Contains(Citation, StringComparison.Ordinal) ? $"{m.Value} without ({Citation}, …)" : null);
        var offences = CompileSurface.SelectMany(a => Documentation(a))
            .Select(m => (m.Key, Why: Offence(Regex.Replace(m.Value.Value, @"\s+", " "))))
            .Where(m => m.Why is not null)
            .Select(m => $"{m.Key}: {m.Why}")
            .ToList();
        Assert.True(offences.Count == 0, $"{offences.Count} members cite what a package user does not have:\n" + string.Join("\n", offences));
    }

    [Fact]
    public void SolveHasAnExample()
    {
        var docs = Documentation(typeof(EntropicOT).Assembly);
        var solve = typeof(EntropicOT).GetMethod(nameof(EntropicOT.Solve), [typeof(double[,]), typeof(double[,]), typeof(SinkhornOptions), typeof(CancellationToken)])!;
        var doc = docs.GetValueOrDefault(MethodId(solve));
        Assert.NotNull(doc);
        var example = doc.Element("example");
        Assert.True(HasText(example), $"{MethodId(solve)} has no <example>");
        Assert.Contains("EntropicOT.Solve", example!.Value);
    }

    [Fact]
    public void DocumentationIdsMatchTheCompilers()
    {
        // The IDs computed here must name entries the compiler wrote, or every gap above would be a false alarm.
        var docs = Documentation(typeof(EntropicOT).Assembly);
        Assert.Contains(MethodId(typeof(EntropicOT).GetMethod(nameof(EntropicOT.TrySolveBatch))!), docs.Keys);
        Assert.Contains(MethodId(typeof(EntropicOT).GetMethod(nameof(EntropicOT.SolveSelf), [typeof(double[,]), typeof(double[]), typeof(SinkhornOptions), typeof(CancellationToken)])!), docs.Keys);
        Assert.Contains(MethodId(typeof(EntropicOT).GetMethod(nameof(EntropicOT.Solve), [typeof(ReadOnlySpan<double>), typeof(ReadOnlySpan<double>), typeof(int), typeof(SinkhornOptions), typeof(CancellationToken)])!), docs.Keys);
    }
}
