using System.ComponentModel;
using System.Globalization;

namespace OtNative.Cli;

/// <summary>
/// Reads <c>--tau-a</c>/<c>--tau-b</c>: a number, or <c>inf</c>, <c>infinity</c> or <c>∞</c> (any case) for a balanced side,
/// as one would write it; anything else is a usage error naming the value.
/// </summary>
public sealed class PenaltyConverter : TypeConverter
{
    public override bool CanConvertFrom(ITypeDescriptorContext? context, Type sourceType) => sourceType == typeof(string);

    public override object? ConvertFrom(ITypeDescriptorContext? context, CultureInfo? culture, object value)
    {
        var text = ((string)value).Trim();
        if (text is "∞" || text.Equals("inf", StringComparison.OrdinalIgnoreCase) || text.Equals("infinity", StringComparison.OrdinalIgnoreCase))
            return double.PositiveInfinity;
        return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var tau)
            ? tau
            : throw new FormatException($"'{text}' is not a penalty strength: give a positive number, or inf for a balanced side.");
    }
}
