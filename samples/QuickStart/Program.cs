using OtNative;

var rng = new Random(7);
double[,] Cloud(int n) { var p = new double[n, 2]; for (int i = 0; i < n; i++) { p[i, 0] = rng.NextDouble(); p[i, 1] = rng.NextDouble(); } return p; }
double[,] x = Cloud(120), y = Cloud(150);

var options = new SinkhornOptions { Epsilon = 0.05, EpsilonRelative = true, Tolerance = 1e-9 };
using SinkhornResult result = EntropicOT.Solve(x, y, options);
double[,] gradient = result.Gradient();
double[,] hessian = result.Hessian(HessianMethod.Schur).Matrix;
double[,] hv = result.HessianVectorProduct(gradient);
double[,] sharpGradient = result.SharpGradient();
double lambda = result.Spectrum().SmallestPositive;
double divergence = EntropicOT.Divergence(x, y, options).Value;
BatchItem[] batch = EntropicOT.SolveBatch(new[] { (x, y), (y, x) }, options);
double[,]? first = batch[0].Gradient;
Console.WriteLine($"{result.Value} {result.SharpValue} {divergence} {hessian.GetLength(0)} {lambda} {first?.GetLength(0)}");
try { x[0, 0] = double.NaN; EntropicOT.Solve(x, y, options); }
catch (ArgumentException e) { Console.WriteLine($"rejected: {e.ParamName}"); }
