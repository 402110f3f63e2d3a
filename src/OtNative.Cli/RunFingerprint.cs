using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;

namespace OtNative.Cli;

/// <summary>
/// What the ranks of an <c>--mpi</c> run compare before any distributed work (<see cref="MpiSession.Agree"/>): the command
/// line without its paths (nodes may keep the same data under different paths, and only rank 0 writes outputs) and the
/// content of every array read, each as a labelled 64-bit digest (the first eight bytes of its SHA-256).
/// </summary>
public sealed class RunFingerprint
{
    /// <summary>The options whose value is a path: left out of the command line's digest.</summary>
    private static readonly string[] PathOptions = ["-x", "-y", "-a", "-b", "--direction", "--pairs", "--out", "--json", "--gradients"];

    private readonly List<(string Label, ulong Digest)> digests = [];

    /// <summary>Starts with the digest of <paramref name="arguments"/> without the paths.</summary>
    public RunFingerprint(IReadOnlyList<string> arguments)
    {
        var kept = new List<string>();
        for (int i = 0; i < arguments.Count; i++)
        {
            var argument = arguments[i];
            if (PathOptions.Contains(argument)) { kept.Add(argument); i++; }
            else if (PathOptions.FirstOrDefault(o => argument.StartsWith(o + "=", StringComparison.Ordinal)) is { } option) kept.Add(option);
            else kept.Add(argument);
        }
        digests.Add(("options", Digest(Encoding.UTF8.GetBytes(string.Join('\0', kept)))));
    }

    /// <summary>The labelled digests so far, in the order they were added.</summary>
    public IReadOnlyList<(string Label, ulong Digest)> Digests => digests;

    /// <summary>Adds the digest of an array's shape and values, labelled by what it is (<c>-x</c>, <c>--direction</c>).</summary>
    public RunFingerprint Add(string label, double[,]? values)
    {
        if (values is not null)
            Add(label, values.GetLength(0), values.GetLength(1),
                MemoryMarshal.CreateReadOnlySpan(ref Unsafe.As<byte, double>(ref MemoryMarshal.GetArrayDataReference(values)), values.Length));
        return this;
    }

    /// <summary>Adds the digest of a vector's values.</summary>
    public RunFingerprint Add(string label, double[]? values)
    {
        if (values is not null) Add(label, values.Length, 1, values);
        return this;
    }

    /// <summary>Adds the digest of a text (a problem's reading error, say).</summary>
    public RunFingerprint Add(string label, string text)
    {
        digests.Add((label, Digest(Encoding.UTF8.GetBytes(text))));
        return this;
    }

    /// <summary>The shape, then the values' bytes, hashed in place (an input is not copied to be hashed).</summary>
    private void Add(string label, int rows, int cols, ReadOnlySpan<double> values)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Span<byte> shape = stackalloc byte[8];
        BinaryPrimitives.WriteInt32LittleEndian(shape, rows);
        BinaryPrimitives.WriteInt32LittleEndian(shape[4..], cols);
        hash.AppendData(shape);
        hash.AppendData(MemoryMarshal.AsBytes(values));
        digests.Add((label, BinaryPrimitives.ReadUInt64LittleEndian(hash.GetHashAndReset())));
    }

    private static ulong Digest(ReadOnlySpan<byte> bytes) => BinaryPrimitives.ReadUInt64LittleEndian(SHA256.HashData(bytes));
}
