using System.Reflection;
using System.Text.RegularExpressions;
using Spectre.Console.Cli;

namespace OtNative.Cli;

/// <summary>Usage errors in words that name the option: the closest valid option to a mistyped one, the option whose value did not convert.</summary>
public static partial class OptionSuggestions
{
    /// <summary>Every long option the commands declare (<c>--tol</c>, <c>--max-iter</c>, …).</summary>
    private static readonly Lazy<string[]> Known = new(() =>
        new[] { typeof(Program).Assembly, typeof(Benchmarks.Commands.BenchSinkhornCommand).Assembly }
            .SelectMany(a => a.GetTypes())
            .SelectMany(t => t.GetProperties())
            .Select(p => p.GetCustomAttribute<CommandOptionAttribute>())
            .Where(a => a is not null)
            .SelectMany(a => a!.LongNames)
            .Distinct()
            .ToArray());

    /// <summary>The long options that take a value (<c>--eps &lt;E&gt;</c>), as typed.</summary>
    private static readonly Lazy<HashSet<string>> TakesValue = new(() =>
        new[] { typeof(Program).Assembly, typeof(Benchmarks.Commands.BenchSinkhornCommand).Assembly }
            .SelectMany(a => a.GetTypes())
            .SelectMany(t => t.GetProperties())
            .Select(p => p.GetCustomAttribute<CommandOptionAttribute>())
            .Where(a => a is { ValueName: not null })
            .SelectMany(a => a!.LongNames.Select(n => "--" + n).Concat(a.ShortNames.Select(n => "-" + n)))
            .ToHashSet());

    [GeneratedRegex("Unknown option '([^']+)'")]
    private static partial Regex UnknownOption();

    [GeneratedRegex(@"^(.*) is not a valid value for (\w+)\.")]
    private static partial Regex Unconvertible();

    /// <summary>
    /// The message made actionable: " Did you mean --x?" after an unknown option with a close match; for a value that
    /// did not convert, the option it was given to (found in <paramref name="args"/>) and the kind of value it needs.
    /// </summary>
    public static string Explain(string message, IReadOnlyList<string> args)
    {
        var unconvertible = Unconvertible().Match(message);
        if (unconvertible.Success)
        {
            var value = unconvertible.Groups[1].Value;
            var kind = unconvertible.Groups[2].Value is "Int32" or "Int64" ? "a whole number" : "a number";
            int at = Enumerable.Range(1, Math.Max(0, args.Count - 1)).FirstOrDefault(i => args[i] == value && args[i - 1].StartsWith('-'));
            return at > 0 ? $"{args[at - 1]}: '{value}' is not {kind}." : $"'{value}' is not {kind}.";
        }
        var match = UnknownOption().Match(message);
        if (!match.Success) return message;
        var typed = match.Groups[1].Value;
        var best = Known.Value
            .Select(name => (Name: name, Distance: typed.StartsWith(name, StringComparison.Ordinal) || name.StartsWith(typed, StringComparison.Ordinal) ? 0 : Distance(typed, name)))
            .OrderBy(c => c.Distance).ThenBy(c => Math.Abs(c.Name.Length - typed.Length))
            .FirstOrDefault();
        return best.Name is not null && best.Distance <= Math.Max(2, typed.Length / 2) ? $"{message} Did you mean --{best.Name}?" : message;
    }

    /// <summary>
    /// The index of the first option that takes a value but was given none (it is the last argument, or the next one is
    /// another option), or −1. Spectre.Console.Cli gives such an option the name of its internal default command,
    /// '__default_command', as its value: <c>grad … --out</c> wrote the gradient to a file of that name, and
    /// <c>--eps</c> said "'__default_command' is not a number".
    /// </summary>
    public static int MissingValue(IReadOnlyList<string> args)
    {
        for (int i = 0; i < args.Count; i++)
        {
            if (!TakesValue.Value.Contains(args[i])) continue;
            if (i + 1 == args.Count) return i;
            var next = args[i + 1];
            if (next.Length > 1 && next.StartsWith('-') && !double.TryParse(next, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out _))
                return i;
            i++;
        }
        return -1;
    }

    /// <summary>Levenshtein distance.</summary>
    private static int Distance(string a, string b)
    {
        var row = Enumerable.Range(0, b.Length + 1).ToArray();
        for (int i = 1; i <= a.Length; i++)
        {
            int diagonal = row[0];
            row[0] = i;
            for (int j = 1; j <= b.Length; j++)
            {
                int above = row[j];
                row[j] = Math.Min(Math.Min(row[j] + 1, row[j - 1] + 1), diagonal + (a[i - 1] == b[j - 1] ? 0 : 1));
                diagonal = above;
            }
        }
        return row[b.Length];
    }
}
