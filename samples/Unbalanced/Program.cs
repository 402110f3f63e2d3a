using OtNative;

// Unbalanced transport: matching a cloud that has outliers. With balanced transport every point must be moved, so the
// outliers drag the plan (and the gradient) across the scene; with the marginals relaxed by KL penalties (TauA, TauB)
// mass that would cost more to move than the penalty stays behind, and the outliers' rows of the plan are empty.
var rng = new Random(5);
var target = new double[200, 2];
for (int j = 0; j < 200; j++) { target[j, 0] = rng.NextDouble(); target[j, 1] = rng.NextDouble(); }
var source = new double[210, 2];
for (int i = 0; i < 200; i++) { source[i, 0] = target[i, 0] + 0.05; source[i, 1] = target[i, 1] - 0.05; }
for (int i = 200; i < 210; i++) { source[i, 0] = 8 + rng.NextDouble(); source[i, 1] = -8; }   // ten outliers

var balancedOptions = new SinkhornOptions { Epsilon = 0.01, EpsilonRelative = false };
using var balanced = EntropicOT.Solve(source, target, balancedOptions);
using var unbalanced = EntropicOT.Solve(source, target, balancedOptions with { TauA = 0.5, TauB = 0.5 });

double OutlierMass(SinkhornResult result)
{
    var plan = result.Plan();
    double mass = 0;
    for (int i = 200; i < 210; i++)
        for (int j = 0; j < 200; j++) mass += plan[i, j];
    return mass;
}

Console.WriteLine($"balanced: value {balanced.Value:G6}, transported mass {balanced.TransportedMass:G6}, outliers' mass moved {OutlierMass(balanced):G3}");
Console.WriteLine($"unbalanced: value {unbalanced.Value:G6}, transported mass {unbalanced.TransportedMass:G6}, outliers' mass moved {OutlierMass(unbalanced):G3}");
// The inliers' gradient: balanced, the outliers' mass is spread over the inliers' plan rows and drags them across the
// scene; unbalanced, it is the small pull of the 0.05 offset.
double LargestInlierGradient(SinkhornResult result)
{
    var g = result.Gradient();
    double largest = 0;
    for (int i = 0; i < 200; i++) largest = Math.Max(largest, Math.Abs(g[i, 0]) + Math.Abs(g[i, 1]));
    return largest;
}
Console.WriteLine($"largest inlier gradient: balanced {LargestInlierGradient(balanced):G3}, unbalanced {LargestInlierGradient(unbalanced):G3}");
return OutlierMass(unbalanced) < 1e-6 && OutlierMass(balanced) > 0.04 ? 0 : 1;
