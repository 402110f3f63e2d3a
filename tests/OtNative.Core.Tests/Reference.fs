/// Independent references and fixtures for the core tests.
module OtNative.Core.Tests.Reference

open System
open OtNative.Core

/// A standard normal draw (Box–Muller).
let gaussian (rng: Random) =
    let u1 = 1.0 - rng.NextDouble()
    let u2 = rng.NextDouble()
    sqrt (-2.0 * log u1) * cos (2.0 * Math.PI * u2)

/// n points in d dimensions: a Gaussian blob around a random centre.
let cloud (rng: Random) n d =
    let centre = Array.init d (fun _ -> 2.0 * rng.NextDouble() - 1.0)
    Matrix(n, d, Array.init (n * d) (fun t -> centre.[t % d] + gaussian rng))

/// Positive weights summing to one: uniform, or random in [0.5, 1.5] before normalising.
let weights (rng: Random) n uniform =
    if uniform then Array.create n (1.0 / float n)
    else
        let w = Array.init n (fun _ -> 0.5 + rng.NextDouble())
        let s = Array.sum w
        w |> Array.map (fun v -> v / s)

/// Classic Sinkhorn in the scaling domain on the dense kernel K = exp(−C/ε): u = a/(Kv), v = b/(Kᵀu),
/// until the row marginal Σ|u∘(Kv) − a| is below 1e-15 (or `maxIterations`: near-permutation plans
/// converge sublinearly). Independent of the log-domain code; valid only where exp(−C/ε) does not
/// underflow. Returns the plan and the potentials f = ε log(u/a), g = ε log(v/b).
let denseSinkhorn (c: float[,]) (a: float[]) (b: float[]) (eps: float) (maxIterations: int) =
    let n, m = a.Length, b.Length
    let k = Array2D.init n m (fun i j -> exp (-c.[i, j] / eps))
    let u = Array.create n 1.0
    let v = Array.create m 1.0
    let mutable err = infinity
    let mutable iteration = 0
    while err >= 1e-15 && iteration < maxIterations do
        for j in 0 .. m - 1 do
            let mutable s = 0.0
            for i in 0 .. n - 1 do s <- s + k.[i, j] * u.[i]
            v.[j] <- b.[j] / s
        err <- 0.0
        for i in 0 .. n - 1 do
            let mutable s = 0.0
            for j in 0 .. m - 1 do s <- s + k.[i, j] * v.[j]
            err <- err + abs (u.[i] * s - a.[i])
            u.[i] <- a.[i] / s
        iteration <- iteration + 1
    let plan = Array2D.init n m (fun i j -> u.[i] * k.[i, j] * v.[j])
    plan, Array.init n (fun i -> eps * log (u.[i] / a.[i])), Array.init m (fun j -> eps * log (v.[j] / b.[j]))

/// ‖a − b‖ / max(‖b‖, tiny).
let relativeError (a: float[]) (b: float[]) =
    let num = Array.fold2 (fun s u v -> s + (u - v) * (u - v)) 0.0 a b |> sqrt
    let den = b |> Array.sumBy (fun v -> v * v) |> sqrt
    num / max den 1e-300

/// The Jacobian of f at x by central differences, one column per coordinate of x (row-major index).
let jacobianByFiniteDifferences (f: Matrix -> float[]) (x: Matrix) (step: float) =
    let size = x.Data.Length
    let columns = Array.init size (fun t ->
        let at delta = (let z = x.Copy() in z.Data.[t] <- z.Data.[t] + delta; f z)
        Array.map2 (fun plus minus -> (plus - minus) / (2.0 * step)) (at step) (at -step))
    Matrix(columns.[0].Length, size, Array.init (columns.[0].Length * size) (fun k -> columns.[k % size].[k / size]))

/// Options for a tightly converged solve: ten times the marginal error float64 resolves on these problems (about
/// 1e-12), and Sinkhorn handing over to L-BFGS where it stalls. Plain Sinkhorn leaves about 2 % of the small random
/// problems unconverged after 50 000 iterations (near-permutation plans, where its rate is within 1e-6 of 1); with the
/// switch none of 2 000 was, so the properties' 5 % discard limit is far away.
let tight eps =
    { SinkhornOptions.Default with Epsilon = eps; Tolerance = 1e-11; MaxIterations = 50_000; Solver = SinkhornThenLbfgs }

/// A finite difference's solve at a perturbed point: warm-started from the solution it perturbs and run to the marginal
/// error float64 resolves, since a derivative by differences divides the solve's error by the step. (Whether it ends
/// just above or below 1e-12 is not checked: either way it is as accurate as the arithmetic allows.)
let perturbed eps (warm: float[]) =
    { tight eps with Tolerance = 1e-12; InitialF = Some warm }

/// A property that holds for converged solves; FsCheck counts the unconverged draws as discarded rather than passed
/// (and `ProblemProperty` fails a property that discards more than 5 %).
let whenConverged (res: SolvedPlan) (body: unit -> unit) =
    FsCheck.FSharp.Prop.filter res.Converged (FsCheck.FSharp.Prop.ofTestable (lazy (body ())))

let cpu = CpuBackend.Instance :> IBackend

/// Every backend this machine has: the CPU reference, and CUDA where a device answers (a distributed backend joins
/// when it lands). The properties run on each.
let backends = [ yield cpu; if (CudaBackend.Instance :> IBackend).IsAvailable then yield CudaBackend.Instance :> IBackend ]

/// The property on every backend, each labelled with the backend's name so that a failure says which one.
let onEveryBackend (property: IBackend -> 'Testable) =
    backends
    |> List.map (fun b -> FsCheck.FSharp.Prop.ofTestable (lazy (property b)) |> FsCheck.FSharp.Prop.label b.Name)
    |> List.reduce (fun p q -> FsCheck.FSharp.PropOperators.(.&.) p q)
