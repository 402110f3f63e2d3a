// The compile-time surface of the packed OtNative packages, read from the .nupkg files themselves: for each package, the
// assemblies a consumer compiles against (ref/<tfm>/ when the package has one, else lib/<tfm>/) and every public type
// in them. Passes when those are only OtNative's own assemblies, every public type is in namespace OtNative (or
// OtNative.Testing in that package), no public type is F#-compiled, no implementation package is a dependency, and the
// implementation's own dependencies (FSharp.Core; MPI.NET in OtNative.Mpi) are runtime-only. MPI is optional: the
// OtNative package neither depends on MPI.NET nor carries an MPI assembly; the OtNative.Mpi package depends on OtNative
// and MPI.NET and carries its own implementation (OtNative.Mpi.Core) beside its façade, none of OtNative's. And that a
// consumer can debug into them offline: every run-time assembly (lib/<tfm>/) has its portable PDB beside it with every
// source file embedded.
using System.IO.Compression;
using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using System.Xml.Linq;

var folder = args.Length == 1 ? args[0] : throw new ArgumentException("usage: SurfaceCheck PACKAGE-FOLDER");
var failures = new List<string>();
var expected = new Dictionary<string, (string[] Assemblies, string[] Namespaces)>
{
    ["OtNative"] = (["OtNative.dll"], ["OtNative"]),
    ["OtNative.Exceptions"] = (["OtNative.Exceptions.dll"], ["OtNative"]),
    ["OtNative.Mpi"] = (["OtNative.Mpi.dll"], ["OtNative"]),
    ["OtNative.Testing"] = (["OtNative.Testing.dll"], ["OtNative.Testing"]),
};
// The run-time assemblies (lib/<tfm>/) of the packages that carry an implementation: each assembly in one package only.
var runtime = new Dictionary<string, string[]>
{
    ["OtNative"] = ["OtNative.Applications.dll", "OtNative.Core.dll", "OtNative.Interop.dll", "OtNative.dll"],
    ["OtNative.Mpi"] = ["OtNative.Mpi.Core.dll", "OtNative.Mpi.dll"],
};
var packages = Directory.GetFiles(folder, "*.nupkg").Where(p => !p.EndsWith(".symbols.nupkg", StringComparison.Ordinal)).ToList();
var seen = new HashSet<string>();
foreach (var path in packages)
{
    using var zip = ZipFile.OpenRead(path);
    var nuspec = XDocument.Load(zip.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal)).Open());
    XNamespace ns = nuspec.Root!.Name.Namespace;
    var id = nuspec.Root.Element(ns + "metadata")!.Element(ns + "id")!.Value;
    if (id == "OtNative.Cli") continue;   // a tool: nothing compiles against it
    seen.Add(id);
    if (!expected.TryGetValue(id, out var want)) { failures.Add($"{id}: an unexpected package (an implementation assembly packed on its own?)"); continue; }
    var hasRef = zip.Entries.Any(e => e.FullName.StartsWith("ref/", StringComparison.Ordinal));
    var compile = zip.Entries.Where(e => e.FullName.StartsWith(hasRef ? "ref/" : "lib/", StringComparison.Ordinal) && e.Name.EndsWith(".dll", StringComparison.Ordinal)).ToList();
    var names = compile.Select(e => e.Name).OrderBy(n => n, StringComparer.Ordinal).ToArray();
    if (!names.SequenceEqual(want.Assemblies)) failures.Add($"{id}: compiles against {string.Join(", ", names)}; expected {string.Join(", ", want.Assemblies)}");
    foreach (var entry in compile)
    {
        using var buffer = new MemoryStream();
        using (var s = entry.Open()) s.CopyTo(buffer);
        buffer.Position = 0;
        using var pe = new PEReader(buffer);
        var md = pe.GetMetadataReader();
        int count = 0;
        foreach (var handle in md.TypeDefinitions)
        {
            var type = md.GetTypeDefinition(handle);
            if ((type.Attributes & System.Reflection.TypeAttributes.VisibilityMask) != System.Reflection.TypeAttributes.Public) continue;
            count++;
            var name = $"{md.GetString(type.Namespace)}.{md.GetString(type.Name)}";
            if (!want.Namespaces.Contains(md.GetString(type.Namespace))) failures.Add($"{id}/{entry.Name}: public type {name} outside {string.Join(" or ", want.Namespaces)}");
            foreach (var attribute in type.GetCustomAttributes().Select(md.GetCustomAttribute))
            {
                var ctor = attribute.Constructor;
                var owner = ctor.Kind == HandleKind.MemberReference ? md.GetMemberReference((MemberReferenceHandle)ctor).Parent : default;
                if (owner.Kind == HandleKind.TypeReference && md.GetString(md.GetTypeReference((TypeReferenceHandle)owner).Name) == "CompilationMappingAttribute"
                    && id != "OtNative.Testing")
                    failures.Add($"{id}/{entry.Name}: public type {name} is F#-compiled");
            }
        }
        Console.WriteLine($"{id}: {entry.FullName}, {count} public types");
    }
    var lib = zip.Entries.Where(e => e.FullName.StartsWith("lib/", StringComparison.Ordinal) && e.Name.EndsWith(".dll", StringComparison.Ordinal)).ToList();
    if (runtime.TryGetValue(id, out var runs) && !lib.Select(e => e.Name).Order(StringComparer.Ordinal).SequenceEqual(runs))
        failures.Add($"{id}: runs {string.Join(", ", lib.Select(e => e.Name).Order(StringComparer.Ordinal))}; expected {string.Join(", ", runs)}");
    foreach (var dll in lib)
    {
        if (zip.GetEntry(dll.FullName[..^4] + ".pdb") is not { } pdb) { failures.Add($"{id}: {dll.FullName} has no PDB beside it"); continue; }
        using var buffer = new MemoryStream();
        using (var s = pdb.Open()) s.CopyTo(buffer);
        buffer.Position = 0;
        using var provider = MetadataReaderProvider.FromPortablePdbStream(buffer);
        var pdbReader = provider.GetMetadataReader();
        var embedded = pdbReader.CustomDebugInformation.Select(pdbReader.GetCustomDebugInformation)
            .Where(c => c.Parent.Kind == HandleKind.Document && pdbReader.GetGuid(c.Kind) == EmbeddedSource)
            .Select(c => (DocumentHandle)c.Parent).ToHashSet();
        var missing = pdbReader.Documents.Where(d => !embedded.Contains(d)).Select(d => pdbReader.GetString(pdbReader.GetDocument(d).Name)).ToList();
        if (missing.Count > 0) failures.Add($"{id}: {pdb.FullName} lacks the source of {missing.Count} file(s), e.g. {missing[0]}");
        Console.WriteLine($"{id}: {pdb.FullName}, {pdbReader.Documents.Count - missing.Count} of {pdbReader.Documents.Count} sources embedded");
    }
    var dependencies = nuspec.Descendants(ns + "dependency").Select(d => d.Attribute("id")!.Value).ToHashSet();
    foreach (var dependency in nuspec.Descendants(ns + "dependency"))
    {
        var dep = dependency.Attribute("id")!.Value;
        var exclude = dependency.Attribute("exclude")?.Value ?? "";
        if (dep is "OtNative.Core" or "OtNative.Applications" or "OtNative.Interop" or "OtNative.Mpi.Core") failures.Add($"{id}: depends on the implementation package {dep}");
        if (dep is "FSharp.Core" or "MPI.NET" && id is "OtNative" or "OtNative.Mpi" && !exclude.Split(',').Contains("Compile"))
            failures.Add($"{id}: {dep} reaches the consumer's compilation (exclude=\"{exclude}\")");
    }
    // MPI is the optional package's: an application without it gets no MPI.NET.
    if (id != "OtNative.Mpi" && dependencies.Contains("MPI.NET")) failures.Add($"{id}: depends on MPI.NET (only OtNative.Mpi may)");
    if (id == "OtNative.Mpi")
        foreach (var required in new[] { "OtNative", "MPI.NET" })
            if (!dependencies.Contains(required)) failures.Add($"{id}: does not depend on {required}");
}
foreach (var id in expected.Keys.Where(k => !seen.Contains(k))) failures.Add($"{id}: not packed in {folder}");
foreach (var f in failures) Console.WriteLine($"FAIL {f}");
Console.WriteLine(failures.Count == 0 ? "the packages' compile-time surface is OtNative's public types only" : $"{failures.Count} problem(s)");
return failures.Count == 0 ? 0 : 1;

partial class Program
{
    /// <summary>The kind of a portable PDB's custom debug information that holds a document's embedded source.</summary>
    private static readonly Guid EmbeddedSource = new("0E8A571B-6926-466E-B4AD-8AB04611F5FE");
}
