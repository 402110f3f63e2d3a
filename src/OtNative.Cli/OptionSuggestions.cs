using System.Reflection;
using System.Text.RegularExpressions;
using Spectre.Console.Cli;

namespace OtNative.Cli;

/// <summary>The closest valid option to a mistyped one, for the usage error's one line.</summary>
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

    [GeneratedRegex("Unknown option '([^']+)'")]
    private static partial Regex UnknownOption();

    /// <summary>The message with " Did you mean --x?" appended when it names an unknown option with a close match.</summary>
    public static string Explain(string message)
    {
        var match = UnknownOption().Match(message);
        if (!match.Success) return message;
        var typed = match.Groups[1].Value;
        var best = Known.Value
            .Select(name => (Name: name, Distance: typed.StartsWith(name, StringComparison.Ordinal) || name.StartsWith(typed, StringComparison.Ordinal) ? 0 : Distance(typed, name)))
            .OrderBy(c => c.Distance).ThenBy(c => Math.Abs(c.Name.Length - typed.Length))
            .FirstOrDefault();
        return best.Name is not null && best.Distance <= Math.Max(2, typed.Length / 2) ? $"{message} Did you mean --{best.Name}?" : message;
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
