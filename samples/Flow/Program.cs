using OtNative;

// A gradient flow of one 2-D cloud onto another under the debiased Sinkhorn divergence
// S(x) = L_ε(x, y) − ½ L_ε(x, x) − ½ L_ε(y, y): each step solves S at the current x and moves every point against its
// gradient, x ← x − lr · n · ∂S/∂x (a point's gradient carries its weight 1/n, hence the n).
var rng = new Random(3);
double Normal() => Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());

int n = 150, m = 180;
var x = new double[n, 2];                      // a Gaussian blob around (−1, −1)
for (int i = 0; i < n; i++) { x[i, 0] = -1 + 0.3 * Normal(); x[i, 1] = -1 + 0.3 * Normal(); }
var y = new double[m, 2];                      // a ring of radius 1 around (1, 1)
for (int j = 0; j < m; j++)
{
    double angle = 2 * Math.PI * j / m, radius = 1 + 0.05 * Normal();
    y[j, 0] = 1 + radius * Math.Cos(angle); y[j, 1] = 1 + radius * Math.Sin(angle);
}

// One absolute ε for the whole flow, so that the first and the last divergence are values of the same function.
var options = new SinkhornOptions { Epsilon = 0.05, EpsilonRelative = false };
const double lr = 0.25;
const int steps = 60;

double start;
using (var first = EntropicOT.SolveDivergence(x, y, options: options)) start = first.Value;
for (int step = 0; step < steps; step++)
{
    using var divergence = EntropicOT.SolveDivergence(x, y, options: options);
    double[,] gradient = divergence.Gradient();   // two solves: the cross term and x's self-term
    for (int i = 0; i < n; i++)
        for (int k = 0; k < 2; k++)
            x[i, k] -= lr * n * gradient[i, k];
}
double end;
using (var last = EntropicOT.SolveDivergence(x, y, options: options)) end = last.Value;

Console.WriteLine($"divergence at the start: {start:G6}");
Console.WriteLine($"divergence after {steps} steps: {end:G6}");
Console.WriteLine($"decrease: {start / end:G3}x");
if (!(end > 0 && start / end > 100))
{
    Console.Error.WriteLine("the flow did not bring the divergence down by a factor of 100");
    return 1;
}
return 0;
