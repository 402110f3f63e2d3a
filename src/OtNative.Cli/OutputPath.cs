namespace OtNative.Cli;

/// <summary>Output files are checked before the computation that fills them: a long run must not fail at its last step.</summary>
public static class OutputPath
{
    /// <summary>
    /// Makes sure <paramref name="path"/> can be written: its directory exists (created if missing) and accepts a file.
    /// Fails with a usage error naming the option and the path otherwise. Does nothing for a null path.
    /// </summary>
    public static void Prepare(string option, string? path)
    {
        if (path is null) return;
        var full = FullPath(option, path);
        if (Directory.Exists(full)) throw new ArgumentException($"{option} {path} is a directory; give a file name.");
        Probe(option, path, Path.GetDirectoryName(full)!);
    }

    /// <summary>
    /// Makes sure files can be written into the directory <paramref name="path"/> (created if missing); fails with a usage
    /// error naming the option and the path otherwise (a file in the way, no permission, a read-only mount).
    /// </summary>
    public static void PrepareDirectory(string option, string? path)
    {
        if (path is null) return;
        var full = FullPath(option, path);
        if (File.Exists(full)) throw new ArgumentException($"{option} {path} is a file; give a directory.");
        Probe(option, path, full);
    }

    /// <summary>The absolute path, or a usage error naming the option when <paramref name="path"/> is not a valid path.</summary>
    private static string FullPath(string option, string path)
    {
        try { return Path.GetFullPath(path); }
        catch (Exception e) when (e is ArgumentException or NotSupportedException or PathTooLongException)
        {
            throw new ArgumentException($"{option} {path}: not a valid path ({e.Message}).");
        }
    }

    /// <summary>Creates <paramref name="directory"/> if missing and writes and deletes an empty file in it.</summary>
    private static void Probe(string option, string path, string directory)
    {
        var probe = Path.Combine(directory, $".otnative-write-check-{Guid.NewGuid():N}");
        try
        {
            Directory.CreateDirectory(directory);
            File.WriteAllBytes(probe, []);
            File.Delete(probe);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ArgumentException($"{option} {path}: cannot write there ({e.Message}).");
        }
    }
}
