using OtNative.Core;

namespace OtNative;

/// <summary>The three values of a debiased Sinkhorn divergence and their solves' diagnostics.</summary>
/// <param name="Value">L_ε(a,b) − ½ L_ε(a,a) − ½ L_ε(b,b).</param>
/// <param name="CrossValue">L_ε(a,b).</param>
/// <param name="SourceSelfValue">L_ε(a,a).</param>
/// <param name="TargetSelfValue">L_ε(b,b).</param>
/// <param name="Epsilon">The absolute ε used by all three solves.</param>
/// <param name="Converged">Whether all three solves reached the tolerance.</param>
public sealed record DivergenceResult(double Value, double CrossValue, double SourceSelfValue, double TargetSelfValue, double Epsilon, bool Converged);

/// <summary>
/// Entry points for entropic optimal transport between weighted point clouds (squared Euclidean
/// cost, no ½) or under a given cost matrix. Points are rows of <c>double[,]</c>; weights default to uniform.
/// </summary>
/// <example>
/// <code>
/// using var result = EntropicOT.Solve(x, y, new SinkhornOptions { Epsilon = 0.05 });
/// double loss = result.Value;
/// double[,] grad = result.Gradient();
/// </code>
/// </example>
public static class EntropicOT
{
    /// <summary>Solves entropic OT between two point clouds with uniform weights.</summary>
    public static SinkhornResult Solve(double[,] x, double[,] y, SinkhornOptions? options = null) => Solve(x, y, null, null, options);

    /// <summary>Solves entropic OT between two weighted point clouds (weights positive, summing to one; null = uniform).</summary>
    /// <exception cref="ArgumentException">Non-finite values, bad weights, mismatched dimensions, empty clouds, ε ≤ 0 or tolerance ≤ 0; the parameter is named.</exception>
    /// <exception cref="NumericalFailureException">The potentials became non-finite.</exception>
    public static SinkhornResult Solve(double[,] x, double[,] y, double[]? a, double[]? b, SinkhornOptions? options = null)
    {
        options ??= SinkhornOptions.Default;
        var problem = OtProblemModule.createWith(Arrays.ToMatrix(x, nameof(x)), Arrays.ToMatrix(y, nameof(y)), Arrays.Option(a), Arrays.Option(b), options.RenormalizeWeights);
        return Run(problem, options);
    }

    /// <summary>Solves entropic OT under a given n×m cost matrix.</summary>
    public static SinkhornResult SolveCost(double[,] cost, double[]? a = null, double[]? b = null, SinkhornOptions? options = null)
    {
        options ??= SinkhornOptions.Default;
        var problem = OtProblemModule.ofCost(Arrays.ToMatrix(cost, nameof(cost)), Arrays.Option(a), Arrays.Option(b));
        return Run(problem, options);
    }

    /// <summary>The debiased Sinkhorn divergence L_ε(a,b) − ½L_ε(a,a) − ½L_ε(b,b) (three solves at one ε).</summary>
    public static DivergenceResult Divergence(double[,] x, double[,] y, double[]? a = null, double[]? b = null, SinkhornOptions? options = null)
    {
        options ??= SinkhornOptions.Default;
        var problem = OtProblemModule.createWith(Arrays.ToMatrix(x, nameof(x)), Arrays.ToMatrix(y, nameof(y)), Arrays.Option(a), Arrays.Option(b), options.RenormalizeWeights);
        var d = Values.divergence(Backends.Resolve(options.Backend, problem).Backend, problem, options.ToCore());
        return new DivergenceResult(d.Value, d.Cross.Value, d.SourceSelf.Value, d.TargetSelf.Value, d.Cross.Epsilon,
            d.Cross.Converged && d.SourceSelf.Converged && d.TargetSelf.Converged);
    }

    /// <summary>The weighted mean cost Σ a_i b_j ‖x_i − y_j‖², the unit of a relative ε.</summary>
    public static double MeanCost(double[,] x, double[,] y, double[]? a = null, double[]? b = null) =>
        OtProblemModule.meanCost(OtProblemModule.create(Arrays.ToMatrix(x, nameof(x)), Arrays.ToMatrix(y, nameof(y)), Arrays.Option(a), Arrays.Option(b)));

    /// <summary>
    /// Solves many independent problems (sizes may differ, uniform weights) on all cores, one problem per worker,
    /// and returns per problem the solution and, as asked, the gradient, the dense Hessian (Schur fast path) and a
    /// Hessian-vector product along <paramref name="hvpDirections"/>[i]. Results are in the problems' order.
    /// </summary>
    /// <exception cref="AggregateException">A problem failed; the message names its index.</exception>
    public static BatchItem[] SolveBatch(IReadOnlyList<(double[,] X, double[,] Y)> problems, SinkhornOptions? options = null,
        bool gradients = true, bool hessians = false, IReadOnlyList<double[,]>? hvpDirections = null)
    {
        ArgumentNullException.ThrowIfNull(problems);
        options ??= SinkhornOptions.Default;
        var core = problems.Select((p, i) => OtProblemModule.createWith(Arrays.ToMatrix(p.X, $"problems[{i}].X"), Arrays.ToMatrix(p.Y, $"problems[{i}].Y"), null, null, false)).ToArray();
        var directions = hvpDirections?.Select((d, i) => Arrays.ToMatrix(d, $"hvpDirections[{i}]")).ToArray();
        var request = new BatchRequest(gradients, hessians, directions is null ? null : Microsoft.FSharp.Core.FSharpOption<Matrix[]>.Some(directions));
        return Batch.solve(Backends.Resolve(options.Backend), core, options.ToCore(), request);
    }

    private static SinkhornResult Run(OtProblem problem, SinkhornOptions options)
    {
        var (backend, note) = Backends.Resolve(options.Backend, problem);
        return new SinkhornResult(Sinkhorn.solve(backend, problem, options.ToCore()), note);
    }
}
