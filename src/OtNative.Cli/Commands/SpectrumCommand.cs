using OtNative.Terminal;
using Spectre.Console;
using Spectre.Console.Cli;

namespace OtNative.Cli.Commands;

/// <summary><c>otnative spectrum</c>: eigenvalues of the H-matrix and its conditioning.</summary>
public sealed class SpectrumCommand : Command<ProblemSettings>
{
    public override int Execute(CommandContext context, ProblemSettings settings, CancellationToken cancellation)
    {
        if (settings.Json is null) throw new ArgumentException("spectrum needs --json OUT.json.");
        var input = ProblemInput.Load(settings);
        EntropicOT.RequireMemory(DenseResult.Spectrum, input.X.GetLength(0), input.Y.GetLength(0), input.X.GetLength(1));
        using var result = input.Solve();
        var spectrum = result.Spectrum();
        JsonReport.Write(settings.Json, new
        {
            eigenvalues = spectrum.Eigenvalues,
            smallestPositive = spectrum.SmallestPositive,
            conditionNumber = spectrum.ConditionNumber,
            largest = spectrum.Eigenvalues[^1],
            epsilon = result.Epsilon,
            iterations = result.Iterations,
            marginalError = result.MarginalError,
        });
        AnsiConsole.MarkupLine($"H-matrix ({spectrum.Eigenvalues.Count}×{spectrum.Eigenvalues.Count}): λ_max {spectrum.Eigenvalues[^1]:E4}, " +
                               $"smallest positive {spectrum.SmallestPositive:E4}, condition number {spectrum.ConditionNumber:E3}; written to {Markup.Escape(settings.Json)}");
        return 0;
    }
}
