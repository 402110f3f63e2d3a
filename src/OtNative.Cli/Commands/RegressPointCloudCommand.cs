using System.ComponentModel;
using Spectre.Console.Cli;

namespace OtNative.Cli.Commands;

/// <summary>
/// <c>otnative regress pointcloud</c>: registration Y = s·Q·X + noise with unknown correspondence, θ a general 3×3
/// map. Data: the synthetic room (chair 500, desk 1500, sofa 1500 points), an OFF mesh sampled by area, or --x/--y.
/// </summary>
public sealed class RegressPointCloudCommand : Command<RegressPointCloudCommand.Settings>
{
    public sealed class Settings : RegressSettings
    {
        [CommandOption("--off <PATH>")]
        [Description("Sample the source cloud from this OFF mesh instead of the synthetic room.")]
        public string? Off { get; init; }

        [CommandOption("--points <N>")]
        [Description("Points sampled from --off (default 1500).")]
        [DefaultValue(1500)]
        public int Points { get; init; } = 1500;

        [CommandOption("--object <NAME>")]
        [Description("room (all three objects as one scene, default), chair, desk or sofa.")]
        [DefaultValue("room")]
        public string Object { get; init; } = "room";

        [CommandOption("--density <F>")]
        [Description("Fraction of the paper's point counts (500/1500/1500) to sample for the room and its objects (default 1).")]
        [DefaultValue(1.0)]
        public double Density { get; init; } = 1.0;

        [CommandOption("--model <MODEL>")]
        [Description("linear (a general 3×3 map, as the paper; default) or rotation-scale (θ = s·Qᵀ, 4 parameters).")]
        [DefaultValue("linear")]
        public string Model { get; init; } = "linear";

        [CommandOption("--scale <S>")]
        [Description("The scale s of the true map (default 1.2).")]
        [DefaultValue(1.2)]
        public double Scale { get; init; } = 1.2;

        [CommandOption("--noise <STD>")]
        [Description("Noise standard deviation (default 0.02).")]
        [DefaultValue(0.02)]
        public double Noise { get; init; } = 0.02;

        [CommandOption("--start-std <STD>")]
        [Description("θ₀ = θ* + N(0, STD²) per entry (default 0.3).")]
        [DefaultValue(0.3)]
        public double StartStd { get; init; } = 0.3;
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellation) =>
        RegressionRun.Execute(RegressionRun.UserData(settings) ?? Synthetic(settings), settings, "pointcloud");

    /// <summary>The registration data set for these settings.</summary>
    public static RegressionData Synthetic(Settings s)
    {
        var rng = new Random(s.Seed);
        string name;
        double[,] source;
        if (s.Off is not null)
        {
            if (s.Points < 4) throw new ArgumentException("--points must be at least 4.");
            source = Datasets.SampleOffSurface(rng, s.Off, s.Points);
            name = $"{Path.GetFileNameWithoutExtension(s.Off)} ({s.Points} points)";
        }
        else
        {
            if (!(s.Density > 0 && s.Density <= 10)) throw new ArgumentException("--density must be in (0, 10].");
            if (s.Object is not ("room" or "chair" or "desk" or "sofa"))
                throw new ArgumentException($"--object must be room, chair, desk or sofa, got '{s.Object}'.");
            source = Datasets.Scene(rng, s.Object, s.Density);
            name = $"{s.Object} ({source.GetLength(0)} points)";
        }
        if (s.Model is not ("linear" or "rotation-scale")) throw new ArgumentException($"--model must be linear or rotation-scale, got '{s.Model}'.");
        var rotationScale = s.Model == "rotation-scale";
        return RegressionData.Of(rotationScale ? $"{name}, rotation+scale" : name,
            Datasets.Registration(rng, source, s.Scale, s.Noise, s.StartStd, rotationScale));
    }
}
