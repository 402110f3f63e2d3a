using System.Text.Json;
using Spectre.Console;

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
    public static void Write(string path, object value) => WriteBytes(path, JsonSerializer.SerializeToUtf8Bytes(value, value.GetType(), Options));

    /// <summary>Writes the JSON summary and says where, as every benchmark ends.</summary>
    public static void Save(string path, object value)
    {
        Write(path, value);
        AnsiConsole.MarkupLine($"saved {Markup.Escape(path)}");
    }

    /// <summary>Writes a text report (Markdown) the same way: directories created, through a temporary file.</summary>
    public static void WriteText(string path, string text) => WriteBytes(path, System.Text.Encoding.UTF8.GetBytes(text));

    private static void WriteBytes(string path, byte[] bytes)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(dir)) Directory.CreateDirectory(dir);
        ArrayFile.WriteAtomically(path, stream => stream.Write(bytes));
    }
}
