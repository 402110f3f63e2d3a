using System.Text.Json.Serialization;
using Microsoft.FSharp.Core;
using OtNative.Core;

namespace OtNative;

/// <summary>Which stage produced an iteration of a shuffled-regression fit. Written to JSON by name.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<RegressionStage>))]
public enum RegressionStage
{
    /// <summary>Stage 1: SGD on mini-batches.</summary>
    StochasticGradient,
    /// <summary>Stage 2: relaxed Newton.</summary>
    RelaxedNewton,
    /// <summary>The baseline: full-batch gradient descent.</summary>
    GradientDescent,
}

/// <summary>One iteration of a fit, measured at the parameters before the step.</summary>
/// <param name="Iteration">Its number within the fit.</param>
/// <param name="Stage">Which stage ran it.</param>
/// <param name="Loss">L_ε(Xθ, Y) on the full data.</param>
/// <param name="GradientNorm">‖∇_φ L‖ on the full data.</param>
/// <param name="ParameterError">‖θ − θ*‖_F when θ* is known, NaN otherwise.</param>
/// <param name="MinEigenvalue">Smallest eigenvalue of ∇²_φ L where it was computed, NaN elsewhere.</param>
/// <param name="MaxEigenvalue">Largest eigenvalue of ∇²_φ L where it was computed, NaN elsewhere.</param>
/// <param name="Damped">The Newton system was not positive definite and a damped step was taken.</param>
/// <param name="StepSize">The step size taken from these parameters; 0 on the last iteration.</param>
/// <param name="SinkhornIterations">Iterations of this evaluation's solve.</param>
/// <param name="SinkhornConverged">Whether this evaluation's solve reached its tolerance.</param>
/// <param name="HessianCgConverged">Whether the CG behind a matrix-free parameter Hessian reached its tolerance (true where none ran).</param>
/// <param name="Seconds">Wall time since the fit began.</param>
[JsonNumberHandling(JsonNumberHandling.AllowNamedFloatingPointLiterals)]
public sealed record RegressionIteration(int Iteration, RegressionStage Stage, double Loss, double GradientNorm, double ParameterError,
    double MinEigenvalue, double MaxEigenvalue, bool Damped, double StepSize, int SinkhornIterations, bool SinkhornConverged, bool HessianCgConverged,
    double Seconds)
{
    internal static RegressionIteration Of(Applications.RegressionIteration i) => new(i.Iteration,
        i.Stage.IsStochasticGradient ? RegressionStage.StochasticGradient : i.Stage.IsRelaxedNewton ? RegressionStage.RelaxedNewton : RegressionStage.GradientDescent,
        i.Loss, i.GradientNorm, i.ParameterError, i.MinEigenvalue, i.MaxEigenvalue, i.Damped, i.StepSize, i.SinkhornIterations, i.SinkhornConverged, i.HessianCgConverged, i.Seconds);
}

/// <summary>The outcome of one fit (relaxed Newton or gradient descent).</summary>
/// <param name="Parameters">θ at the end (p×d).</param>
/// <param name="MapParameters">φ at the end (θ's entries for a general linear map).</param>
/// <param name="History">Every iteration of this stage.</param>
/// <param name="Iterations">Steps taken by this stage, not counting the shared SGD stage.</param>
/// <param name="Seconds">Wall time of this stage.</param>
/// <param name="FinalLoss">The loss at the end.</param>
/// <param name="ParameterError">‖θ − θ*‖_F at the end, NaN when θ* is unknown.</param>
/// <param name="StopReason">Why it stopped.</param>
[JsonNumberHandling(JsonNumberHandling.AllowNamedFloatingPointLiterals)]
public sealed record RegressionFit([property: JsonConverter(typeof(Array2DJsonConverter))] double[,] Parameters, IReadOnlyList<double> MapParameters, IReadOnlyList<RegressionIteration> History,
    int Iterations, double Seconds, double FinalLoss, double ParameterError, string StopReason)
{
    internal static RegressionFit Of(Applications.RegressionFit f) => new(f.Parameters.ToArray2D(), Array.AsReadOnly(f.MapParameters),
        f.History.Select(RegressionIteration.Of).ToArray(), f.Iterations, f.Seconds, f.FinalLoss, f.ParameterError, f.StopReason);
}

/// <summary>SGD → relaxed Newton against SGD → gradient descent, from the same SGD stage.</summary>
/// <param name="Sgd">The shared stage-1 iterations.</param>
/// <param name="SgdParameters">θ where SGD ended.</param>
/// <param name="SgdMapParameters">φ where SGD ended.</param>
/// <param name="Newton">The relaxed Newton stage (the second stage of Li et al. 2024, Algorithm 2).</param>
/// <param name="GradientDescent">The baseline.</param>
[JsonNumberHandling(JsonNumberHandling.AllowNamedFloatingPointLiterals)]
public sealed record RegressionComparison(IReadOnlyList<RegressionIteration> Sgd, [property: JsonConverter(typeof(Array2DJsonConverter))] double[,] SgdParameters, IReadOnlyList<double> SgdMapParameters,
    RegressionFit Newton, RegressionFit GradientDescent)
{
    internal static RegressionComparison Of(Applications.RegressionComparison c) => new(c.Sgd.Select(RegressionIteration.Of).ToArray(),
        c.SgdParameters.ToArray2D(), Array.AsReadOnly(c.SgdMapParameters), RegressionFit.Of(c.Newton), RegressionFit.Of(c.GradientDescent));
}

/// <summary>
/// How the fitted parameters φ give the linear map θ (p×d) of x = Xθ: the identity for a general linear map,
/// a scaled rotation for registration, or a map of your own.
/// </summary>
public sealed class ParameterMap
{
    private ParameterMap(Applications.ParameterMap core) => Core = core;

    internal Applications.ParameterMap Core { get; }

    /// <summary>Its name (<c>linear</c>, <c>rotation+scale</c>, or yours).</summary>
    public string Name => Core.Name;

    /// <summary>The number of parameters φ.</summary>
    public int Size => Core.Size;

    /// <summary>The map θ = map(φ).</summary>
    /// <param name="phi">The parameters φ (length <see cref="Size"/>).</param>
    /// <returns>θ (p×d).</returns>
    public double[,] ToTheta(double[] phi)
    {
        ArgumentNullException.ThrowIfNull(phi);
        if (phi.Length != Size) throw new ArgumentException($"{Name} has {Size} parameters; φ has {phi.Length}.", nameof(phi));
        return Core.ToTheta.Invoke(phi).ToArray2D();
    }

    /// <summary>θ (p×d) itself, φ = θ's entries row by row.</summary>
    /// <param name="p">θ's rows: the columns of the design X.</param>
    /// <param name="d">θ's columns: the dimension of the targets.</param>
    /// <returns>The identity map with p·d parameters.</returns>
    public static ParameterMap Linear(int p, int d) => new(Applications.ParameterMapModule.linear(p, d));

    /// <summary>φ = (log s, ω₁, ω₂, ω₃) ↦ θ = s·exp([ω]×)ᵀ for 3-D point clouds (x ↦ s Q x for row vectors).</summary>
    public static ParameterMap RotationScale { get; } = new(Applications.ParameterMapModule.rotationScale);

    /// <summary>A map of your own.</summary>
    /// <param name="name">A name for reports.</param>
    /// <param name="size">The number of parameters k.</param>
    /// <param name="toTheta">φ (length k) ↦ θ (p×d).</param>
    /// <param name="jacobian">φ ↦ ∂vec(θ)/∂φ ((p·d)×k, vec row by row).</param>
    /// <param name="curvature">(φ, ∇_θ L) ↦ Σ_i (∇_θ L)_i ∇²_φ θ_i (k×k); null for a map linear in φ.</param>
    /// <returns>The map, for <see cref="ShuffledRegression.Compare(double[,], double[,], ParameterMap, double[], double[,], RegressionOptions, CancellationToken)"/>.</returns>
    public static ParameterMap Create(string name, int size, Func<double[], double[,]> toTheta, Func<double[], double[,]> jacobian,
        Func<double[], double[,], double[,]>? curvature = null)
    {
        ArgumentNullException.ThrowIfNull(toTheta);
        ArgumentNullException.ThrowIfNull(jacobian);
        if (size < 1) throw new ArgumentOutOfRangeException(nameof(size), size, "A map needs at least one parameter.");
        return new(new Applications.ParameterMap(name ?? "custom", size,
            FuncConvert.FromFunc<double[], Matrix>(phi => Matrix.OfArray2D(toTheta(phi))),
            FuncConvert.FromFunc<double[], Matrix>(phi => Matrix.OfArray2D(jacobian(phi))),
            FuncConvert.FromFunc<double[], FSharpFunc<Matrix, Matrix>>(phi => FuncConvert.FromFunc<Matrix, Matrix>(g =>
                curvature is null ? Matrix.Zeros(size, size) : Matrix.OfArray2D(curvature(phi, g.ToArray2D()))))));
    }
}
