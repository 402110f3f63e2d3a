using OtNative;

// EntropicOT.TrySolveBatch: several independent problems on all cores, one outcome per problem — its results, or why
// it failed — so that one bad problem (here a NaN coordinate) costs only itself.
var rng = new Random(11);
double[,] Cloud(int n, double shift)
{
    var p = new double[n, 2];
    for (int i = 0; i < n; i++) { p[i, 0] = rng.NextDouble() + shift; p[i, 1] = rng.NextDouble(); }
    return p;
}

var broken = Cloud(50, 0);
broken[7, 1] = double.NaN;
double[] weights = Enumerable.Range(1, 80).Select(i => (double)i).ToArray();
double total = weights.Sum();
weights = weights.Select(w => w / total).ToArray();

BatchProblem[] problems =
[
    new(Cloud(100, 0), Cloud(120, 0), Name: "uniform"),
    new(Cloud(80, 0), Cloud(60, 0), A: weights, Name: "weighted"),
    new(broken, Cloud(50, 0), Name: "with-nan"),
    new(Cloud(100, 0), Cloud(100, 2), Name: "shifted-by-2"),   // L_ε ≈ 2² = 4 plus the clouds' own spread
];

// One absolute ε for every problem, so that the values compare; sharp distances ⟨P, C⟩ too.
var options = new SinkhornOptions { Epsilon = 0.01, EpsilonRelative = false };
BatchOutcome[] outcomes = EntropicOT.TrySolveBatch(problems, options, gradients: true, sharpValues: true);

foreach (var outcome in outcomes)
{
    var name = problems[outcome.Index].Name;
    if (outcome.Item is { } item)
        Console.WriteLine($"{name}: value {item.Value:F6} sharp {item.SharpValue:F6} iterations {item.Iterations} " +
                          $"marginal error {item.MarginalError:G2} gradient {item.Gradient!.GetLength(0)}x{item.Gradient.GetLength(1)}");
    else
        Console.WriteLine($"{name}: failed ({outcome.Error!.GetType().Name}) {outcome.Error.Message}");
}
return outcomes.Count(o => o.Succeeded) == 3 ? 0 : 1;
