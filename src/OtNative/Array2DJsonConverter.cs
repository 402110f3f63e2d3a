using System.Text.Json;
using System.Text.Json.Serialization;

namespace OtNative;

/// <summary>
/// Writes and reads a <c>double[,]</c> with System.Text.Json, which has no representation of its own for rectangular
/// arrays: an array of rows, each an array of numbers (<c>[[1.5, 2], [3, -0.25]]</c>). Every value is written in the
/// shortest form that reads back to the same <see cref="double"/> (the serializer's own number format) and read back bit
/// for bit; a non-finite value is written as the string <c>"NaN"</c>, <c>"Infinity"</c> or <c>"-Infinity"</c>, as
/// <see cref="JsonNumberHandling.AllowNamedFloatingPointLiterals"/> does, and read back; a number literal beyond double's
/// range (<c>1e400</c>) is refused, not read as an infinity. A null array stays null. A 0×d
/// array is written <c>[]</c> and reads back as 0×0; an n×0 array round-trips.
/// </summary>
/// <remarks>
/// The result records with <c>double[,]</c> members (<see cref="BatchItem"/>, <see cref="HessianResult"/>,
/// <see cref="CgResult"/>, …) name it on those members, so <see cref="JsonSerializer"/> handles them with no options; add it
/// to <see cref="JsonSerializerOptions.Converters"/> for arrays of your own.
/// </remarks>
/// <example>
/// <code>
/// string json = JsonSerializer.Serialize(items);                      // BatchItem[] from EntropicOT.SolveBatch
/// BatchItem[] back = JsonSerializer.Deserialize&lt;BatchItem[]&gt;(json)!;
/// </code>
/// </example>
public sealed class Array2DJsonConverter : JsonConverter<double[,]>
{
    /// <summary>Reads an array of equally long rows of numbers (or named non-finite literals).</summary>
    /// <param name="reader">The reader, at the value's first token.</param>
    /// <param name="typeToConvert">The type to read (<c>double[,]</c>).</param>
    /// <param name="options">The serializer's options.</param>
    /// <returns>The array (rows × the rows' common length).</returns>
    /// <exception cref="JsonException">The value is not an array of equally long arrays of numbers, or a number is beyond double's range.</exception>
    public override double[,]? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType == JsonTokenType.Null) return null;
        if (reader.TokenType != JsonTokenType.StartArray)
            throw new JsonException($"A double[,] is an array of rows; found {reader.TokenType}.");
        var rows = new List<double[]>();
        var row = new List<double>();
        while (Next(ref reader) != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.StartArray)
                throw new JsonException($"Row {rows.Count} of a double[,] is not an array of numbers; found {reader.TokenType}.");
            row.Clear();
            while (Next(ref reader) != JsonTokenType.EndArray) row.Add(Number(ref reader, rows.Count));
            if (rows.Count > 0 && row.Count != rows[0].Length)
                throw new JsonException($"Row {rows.Count} of a double[,] has {row.Count} values, row 0 has {rows[0].Length}: the rows must be equally long.");
            rows.Add(row.ToArray());
        }
        var result = new double[rows.Count, rows.Count == 0 ? 0 : rows[0].Length];
        for (int i = 0; i < rows.Count; i++)
            for (int j = 0; j < rows[i].Length; j++) result[i, j] = rows[i][j];
        return result;
    }

    /// <summary>Writes the array as an array of rows.</summary>
    /// <param name="writer">The writer.</param>
    /// <param name="value">The array (not null: the serializer writes null itself).</param>
    /// <param name="options">The serializer's options.</param>
    public override void Write(Utf8JsonWriter writer, double[,] value, JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(value);
        writer.WriteStartArray();
        for (int i = 0; i < value.GetLength(0); i++)
        {
            writer.WriteStartArray();
            for (int j = 0; j < value.GetLength(1); j++)
            {
                var v = value[i, j];
                if (double.IsFinite(v)) writer.WriteNumberValue(v);
                else writer.WriteStringValue(double.IsNaN(v) ? "NaN" : v > 0 ? "Infinity" : "-Infinity");
            }
            writer.WriteEndArray();
        }
        writer.WriteEndArray();
    }

    private static JsonTokenType Next(ref Utf8JsonReader reader) =>
        reader.Read() ? reader.TokenType : throw new JsonException("A double[,] ends before its closing bracket.");

    private static double Number(ref Utf8JsonReader reader, int row)
    {
        if (reader.TokenType == JsonTokenType.Number)
        {
            // A number literal beyond double's range (1e400) reads as ±∞: a silent infinity where non-finite values are
            // the named strings, so it is refused.
            var v = reader.GetDouble();
            return double.IsFinite(v) ? v
                : throw new JsonException($"Row {row} of a double[,] holds {System.Text.Encoding.UTF8.GetString(reader.ValueSpan)}, beyond double's range (±1.8e308); write \"Infinity\" or \"-Infinity\" for an infinite value.");
        }
        if (reader.TokenType == JsonTokenType.String)
        {
            switch (reader.GetString())
            {
                case "NaN": return double.NaN;
                case "Infinity": return double.PositiveInfinity;
                case "-Infinity": return double.NegativeInfinity;
            }
        }
        throw new JsonException($"Row {row} of a double[,] holds {reader.TokenType}, not a number (or \"NaN\", \"Infinity\", \"-Infinity\").");
    }
}
