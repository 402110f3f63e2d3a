using System.Globalization;

namespace OtNative.Terminal;

/// <summary>Comma-separated option values such as <c>--sizes 1000,4000</c>.</summary>
public static class ListOption
{
    /// <summary>The integers of a comma-separated list (blanks ignored); a bad entry is a usage error.</summary>
    public static int[] Ints(string list) =>
        list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(v => int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n > 0
                ? n : throw new ArgumentException($"'{v}' in '{list}' is not a positive integer."))
            .ToArray();

    /// <summary>The positive numbers of a comma-separated list (blanks ignored); a bad entry is a usage error.</summary>
    public static double[] Doubles(string list) =>
        list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(v => double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var x) && x > 0 && double.IsFinite(x)
                ? x : throw new ArgumentException($"'{v}' in '{list}' is not a positive number."))
            .ToArray();
}
