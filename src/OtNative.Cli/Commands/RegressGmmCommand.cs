using System.ComponentModel;
using Spectre.Console.Cli;

namespace OtNative.Cli.Commands;

/// <summary><c>otnative regress gmm</c>: the paper's Gaussian-mixture shuffled regression (math.md §5), or --x/--y data.</summary>
public sealed class RegressGmmCommand : Command<RegressGmmCommand.Settings>
{
    public sealed class Settings : RegressSettings
    {
        [CommandOption("-n|--size <N>")]
        [Description("Points (default 500).")]
        [DefaultValue(500)]
        public int N { get; init; } = 500;

        [CommandOption("--dx <P>")]
        [Description("Dimension of X (default 5).")]
        [DefaultValue(5)]
        public int Dx { get; init; } = 5;

        [CommandOption("--dy <D>")]
        [Description("Dimension of Y (default 2).")]
        [DefaultValue(2)]
        public int Dy { get; init; } = 2;
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellation) =>
        RegressionRun.Execute(RegressionRun.UserData(settings) ?? Synthetic(settings), settings, "gmm");

    /// <summary>The Gaussian-mixture data set for these settings.</summary>
    public static RegressionData Synthetic(Settings s)
    {
        if (s.N < 2 || s.Dx < 1 || s.Dy < 1) throw new ArgumentException("--n must be ≥ 2 and --dx, --dy ≥ 1.");
        return RegressionData.Of($"Gaussian mixture n={s.N} dX={s.Dx} dY={s.Dy}", Datasets.GaussianMixtureRegression(s.Seed, s.N, s.Dx, s.Dy));
    }
}
