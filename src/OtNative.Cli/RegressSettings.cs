using System.ComponentModel;
using Spectre.Console;
using Spectre.Console.Cli;

namespace OtNative.Cli;

/// <summary>Options shared by <c>otnative regress gmm</c> and <c>otnative regress pointcloud</c>.</summary>
public class RegressSettings : CommandSettings
{
    [CommandOption("-x <PATH>")]
    [Description("User data instead of the synthetic set: the design / source points X (n×p).")]
    public string? X { get; init; }

    [CommandOption("-y <PATH>")]
    [Description("User data: the targets Y (m×d), any order. Needs --x.")]
    public string? Y { get; init; }

    [CommandOption("--theta0 <PATH>")]
    [Description("User data: the start θ₀ (p×d); default the identity for square maps, else small random.")]
    public string? Theta0 { get; init; }

    [CommandOption("--theta-star <PATH>")]
    [Description("User data: the true θ* (p×d), when known, for the parameter error.")]
    public string? ThetaStar { get; init; }

    [CommandOption("--seed <N>")]
    [Description("Seeds the data and the mini-batches (default 1).")]
    [DefaultValue(1)]
    public int Seed { get; init; } = 1;

    [CommandOption("--eps <E>")]
    [Description("Absolute ε of the loss (default 0.05).")]
    [DefaultValue(0.05)]
    public double Eps { get; init; } = 0.05;

    [CommandOption("--batch <N>")]
    [Description("SGD mini-batch size (default 100).")]
    [DefaultValue(100)]
    public int Batch { get; init; } = 100;

    [CommandOption("--sgd-lr <R>")]
    [Description("SGD learning rate (default 1e-2).")]
    [DefaultValue(1e-2)]
    public double SgdLr { get; init; } = 1e-2;

    [CommandOption("--max-sgd <N>")]
    [Description("SGD steps at most (default 15).")]
    [DefaultValue(15)]
    public int MaxSgd { get; init; } = 15;

    [CommandOption("--newton-lr <R>")]
    [Description("Relaxed Newton step η_N (default 0.5).")]
    [DefaultValue(0.5)]
    public double NewtonLr { get; init; } = 0.5;

    [CommandOption("--max-newton <N>")]
    [Description("Newton steps at most (default 50).")]
    [DefaultValue(50)]
    public int MaxNewton { get; init; } = 50;

    [CommandOption("--gd-lr <R>")]
    [Description("Gradient-descent learning rate (default 1e-2).")]
    [DefaultValue(1e-2)]
    public double GdLr { get; init; } = 1e-2;

    [CommandOption("--max-gd <N>")]
    [Description("Gradient-descent steps at most (default 2000).")]
    [DefaultValue(2000)]
    public int MaxGd { get; init; } = 2000;

    [CommandOption("--gd-gap <G>")]
    [Description("GD stops within this absolute distance of Newton's final loss (default 1e-2, the paper's; scale it with your loss).")]
    [DefaultValue(1e-2)]
    public double GdGap { get; init; } = 1e-2;

    [CommandOption("--plots <DIR>")]
    [Description("Folder for loss.png, param-error.png and clouds.png (default regress-plots).")]
    [DefaultValue("regress-plots")]
    public string Plots { get; init; } = "regress-plots";

    [CommandOption("--json <PATH>")]
    [Description("Write the raw series here.")]
    public string? Json { get; init; }

    /// <summary>The fit settings these options describe.</summary>
    public RegressionOptions Options(IProgress<RegressionIteration>? progress) => new()
    {
        Epsilon = Eps, BatchSize = Batch, SgdLearningRate = SgdLr, MaxSgd = MaxSgd, NewtonLearningRate = NewtonLr,
        MaxNewton = MaxNewton, GdLearningRate = GdLr, MaxGd = MaxGd, GdLossGap = GdGap, Seed = Seed, Progress = progress,
    };

    public override ValidationResult Validate()
    {
        if ((X is null) != (Y is null)) return ValidationResult.Error("--x and --y go together.");
        if (X is null && (Theta0 is not null || ThetaStar is not null)) return ValidationResult.Error("--theta0 and --theta-star need --x and --y.");
        return ValidationResult.Success();
    }
}
