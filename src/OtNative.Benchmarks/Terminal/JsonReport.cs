using System.Text.Json;

namespace OtNative.Terminal;

/// <summary>Writes JSON summaries with the contract's camelCase field names.</summary>
public static class JsonReport
{
    private static readonly JsonSerializerOptions Options = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>Serialises <paramref name="value"/> to <paramref name="path"/> (directories created as needed), through a temporary file renamed over it.</summary>
    public static void Write(string path, object value)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(dir)) Directory.CreateDirectory(dir);
        var json = JsonSerializer.SerializeToUtf8Bytes(value, value.GetType(), Options);
        ArrayFile.WriteAtomically(path, stream => stream.Write(json));
    }

    /// <summary>Writes a text report (Markdown) the same way: directories created, through a temporary file.</summary>
    public static void WriteText(string path, string text)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(dir)) Directory.CreateDirectory(dir);
        var bytes = System.Text.Encoding.UTF8.GetBytes(text);
        ArrayFile.WriteAtomically(path, stream => stream.Write(bytes));
    }
}
