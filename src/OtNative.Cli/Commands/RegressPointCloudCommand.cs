using System.ComponentModel;
using OtNative.Applications;
using OtNative.Core;
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
        Matrix source;
        if (s.Off is not null)
        {
            if (s.Points < 4) throw new ArgumentException("--points must be at least 4.");
            source = Shapes.sampleSurface(rng, Shapes.readOff(s.Off), s.Points);
            name = $"{Path.GetFileNameWithoutExtension(s.Off)} ({s.Points} points)";
        }
        else
        {
            if (!(s.Density > 0 && s.Density <= 10)) throw new ArgumentException("--density must be in (0, 10].");
            source = SceneOrObject(rng, s.Object, s.Density);
            name = $"{s.Object} ({source.Rows} points)";
        }
        if (s.Model == "rotation-scale")
        {
            var (rs, phi0) = Applications.Synthetic.registrationRotationScale(rng, Shapes.centre(source), s.Scale, s.Noise, s.StartStd).ToValueTuple();
            return new RegressionData($"{name}, rotation+scale", rs.Design.ToArray2D(), rs.Targets.ToArray2D(),
                ParameterMapModule.rotationScale.ToTheta.Invoke(phi0).ToArray2D(), rs.TrueParameters.Value.ToArray2D(), OtNative.ParameterMap.RotationScale, phi0);
        }
        if (s.Model != "linear") throw new ArgumentException($"--model must be linear or rotation-scale, got '{s.Model}'.");
        var (problem, theta0) = Applications.Synthetic.registrationProblem(rng, Shapes.centre(source), s.Scale, s.Noise, s.StartStd).ToValueTuple();
        return new RegressionData(name, problem.Design.ToArray2D(), problem.Targets.ToArray2D(), theta0.ToArray2D(), problem.TrueParameters.Value.ToArray2D());
    }

    /// <summary>One object, or the room: chair, desk and sofa placed side by side.</summary>
    private static Matrix SceneOrObject(Random rng, string name, double density)
    {
        int Count(int paper) => Math.Max(4, (int)Math.Round(paper * density));
        var objects = Shapes.room.ToDictionary(o => o.Item1, o => (o.Item2, Count(o.Item3)));
        if (name == "room")
        {
            var offsets = new Dictionary<string, double[]> { ["chair"] = [0.2, 1.4, 0], ["desk"] = [0, 2.0, 0], ["sofa"] = [2.0, 0, 0] };
            var parts = Shapes.room.Select(o =>
            {
                var pts = Shapes.sampleSurface(rng, o.Item2, Count(o.Item3));
                var off = offsets[o.Item1];
                return new Matrix(pts.Rows, 3, pts.Data.Select((v, t) => v + off[t % 3]).ToArray());
            }).ToArray();
            return new Matrix(parts.Sum(p => p.Rows), 3, parts.SelectMany(p => p.Data).ToArray());
        }
        if (!objects.TryGetValue(name, out var obj)) throw new ArgumentException($"--object must be room, chair, desk or sofa, got '{name}'.");
        return Shapes.sampleSurface(rng, obj.Item1, obj.Item2);
    }
}
