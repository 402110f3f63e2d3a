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
        string full;
        try { full = Path.GetFullPath(path); }
        catch (Exception e) when (e is ArgumentException or NotSupportedException or PathTooLongException)
        {
            throw new ArgumentException($"{option} {path}: not a valid path ({e.Message}).");
        }
        if (Directory.Exists(full)) throw new ArgumentException($"{option} {path} is a directory; give a file name.");
        var directory = Path.GetDirectoryName(full)!;
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
