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

/// −ε LSE(z) by the textbook two passes (the maximum, then the sum of exponentials), in scalars.
let softminOf (eps: float) (z: float[]) =
    let top = Array.max z
    -eps * (top + log (Array.sumBy (fun v -> exp (v - top)) z))

/// The L1 errors of a dense plan's row and column sums against a and b, added.
let private marginalErrorOf (plan: float[,]) (a: float[]) (b: float[]) =
    let rows = Array.init a.Length (fun i -> Seq.sum (Seq.init b.Length (fun j -> plan.[i, j])))
    let columns = Array.init b.Length (fun j -> Seq.sum (Seq.init a.Length (fun i -> plan.[i, j])))
    Array.fold2 (fun s r ai -> s + abs (r - ai)) 0.0 rows a + Array.fold2 (fun s c bj -> s + abs (c - bj)) 0.0 columns b

/// Classic Sinkhorn in the scaling domain on the dense kernel K = exp(−C/ε): u = a/(Kv), v = b/(Kᵀu), at most
/// `maxIterations` times, then Newton's method on the dual (f, g) with g's last entry pinned (the dual is flat along
/// (f + c, g − c)), each step solved by Math.NET's dense LU and halved until the marginal error falls, until it is
/// below 1e-15 or no step lowers it. Near-permutation plans make the scaling iterations converge at a rate within 1e-6
/// of 1 (20 million iterations for n = m = 8, d = 1 at ε = 0.1 × mean cost, seed 853925745), where Newton converges
/// quadratically. Independent of the library's solvers; valid only where exp(−C/ε) does not underflow. Returns the
/// plan and the potentials f = ε log(u/a), g = ε log(v/b).
let denseSinkhorn (c: float[,]) (a: float[]) (b: float[]) (eps: float) (maxIterations: int) =
    let n, m = a.Length, b.Length
    let k = Array2D.init n m (fun i j -> exp (-c.[i, j] / eps))
    let u = Array.create n 1.0
    let v = Array.create m 1.0
    for _ in 1 .. maxIterations do
        for j in 0 .. m - 1 do
            v.[j] <- b.[j] / Seq.sum (Seq.init n (fun i -> k.[i, j] * u.[i]))
        for i in 0 .. n - 1 do
            u.[i] <- a.[i] / Seq.sum (Seq.init m (fun j -> k.[i, j] * v.[j]))
    let f = Array.init n (fun i -> eps * log (u.[i] / a.[i]))
    let g = Array.init m (fun j -> eps * log (v.[j] / b.[j]))
    let g0 = g.[m - 1]
    for j in 0 .. m - 1 do g.[j] <- g.[j] - g0
    for i in 0 .. n - 1 do f.[i] <- f.[i] + g0
    let planOf (f: float[]) (g: float[]) = Array2D.init n m (fun i j -> a.[i] * b.[j] * exp ((f.[i] + g.[j] - c.[i, j]) / eps))
    let mutable plan = planOf f g
    let mutable err = marginalErrorOf plan a b
    let mutable improving = true
    while err >= 1e-15 && improving do
        // Unknowns: f (n) and g without its last entry (m − 1); the system is the dual's negated Hessian times ε.
        let size = n + m - 1
        let system = MathNet.Numerics.LinearAlgebra.Double.DenseMatrix(size, size)
        let residual = MathNet.Numerics.LinearAlgebra.Double.DenseVector(size)
        for i in 0 .. n - 1 do
            let row = Seq.sum (Seq.init m (fun j -> plan.[i, j]))
            system.[i, i] <- row
            residual.[i] <- a.[i] - row
            for j in 0 .. m - 2 do
                system.[i, n + j] <- plan.[i, j]
                system.[n + j, i] <- plan.[i, j]
        for j in 0 .. m - 2 do
            let column = Seq.sum (Seq.init n (fun i -> plan.[i, j]))
            system.[n + j, n + j] <- column
            residual.[n + j] <- b.[j] - column
        let step = system.Solve(residual).Multiply(eps)
        let rec tryStep scale halvings =
            if halvings = 60 then false
            else
                let f' = Array.init n (fun i -> f.[i] + scale * step.[i])
                let g' = Array.init m (fun j -> if j < m - 1 then g.[j] + scale * step.[n + j] else g.[j])
                let plan' = planOf f' g'
                let err' = marginalErrorOf plan' a b
                if err' < err then
                    Array.blit f' 0 f 0 n
                    Array.blit g' 0 g 0 m
                    plan <- plan'
                    err <- err'
                    true
                else tryStep (scale / 2.0) (halvings + 1)
        improving <- tryStep 1.0 0
    plan, f, g

/// ‖a − b‖ / max(‖b‖, tiny).
/// The paper's circle example (math.md §4): n equally spaced points θ_k = 2πk/n on the unit circle,
/// y = x, uniform weights. Returns the points and the exactly optimal plan K/(nκ).
let circle (n: int) (eps: float) =
    let x = Matrix(n, 2, Array.init (2 * n) (fun t -> let k = t / 2 in if t % 2 = 0 then cos (2.0 * System.Math.PI * float k / float n) else sin (2.0 * System.Math.PI * float k / float n)))
    // C_ij = ‖x_i − x_j‖² = 4 sin²(π(i−j)/n): circulant, so K/(nκ) has uniform marginals exactly.
    let k0 = Array.init n (fun j -> exp (-4.0 * (sin (System.Math.PI * float j / float n)) ** 2.0 / eps))
    let kappa = Array.sum k0
    let plan = Matrix(n, n, Array.init (n * n) (fun t -> k0.[((t % n) - (t / n) + n) % n] / (float n * kappa)))
    x, plan

/// σ₂ of the circle plan: Σ_j K_0j cos(2πj/n) / (nκ) (the circulant's second eigenvalue).
let circleSigma2 (n: int) (eps: float) =
    let k0 = Array.init n (fun j -> exp (-4.0 * (sin (System.Math.PI * float j / float n)) ** 2.0 / eps))
    let weighted = Array.mapi (fun j k -> k * cos (2.0 * System.Math.PI * float j / float n)) k0 |> Array.sum
    weighted / (float n * Array.sum k0)

/// λ_{2n−1} = 1/n − σ₂ for the circle (Corollary 10).
let circleSmallestPositive (n: int) (eps: float) = 1.0 / float n - circleSigma2 n eps

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
    { SinkhornOptions.Default with Epsilon = eps; Tolerance = 1e-11; MaxIterations = 50_000; Solver = ForwardSolver.SinkhornThenLbfgs }

/// A finite difference's solve at a perturbed point: warm-started from the solution it perturbs and run to the marginal
/// error float64 resolves, since a derivative by differences divides the solve's error by the step. (Whether it ends
/// just above or below 1e-12 is not checked: either way it is as accurate as the arithmetic allows.)
let perturbed eps (warm: float[]) =
    { tight eps with Tolerance = 1e-12; Start = Start.FromF warm }

/// A property that holds for converged solves; FsCheck counts the unconverged draws as discarded rather than passed
/// (and `ProblemProperty` fails a property that discards more than 5 %).
let whenConverged (res: SolvedPlan) (body: unit -> unit) =
    FsCheck.FSharp.Prop.filter res.Converged (FsCheck.FSharp.Prop.ofTestable (lazy (body ())))

let cpu = CpuBackend.Instance :> IBackend

/// Every backend this machine has: the CPU reference, and CUDA where a device answers.
let localBackends = [ yield cpu; if (CudaBackend.Instance :> IBackend).IsAvailable then yield CudaBackend.Instance :> IBackend ]

/// The backend a distributed property run puts in place of the local ones (`DistributedProperties.run`, inside an
/// mpiexec job): the local backends have been covered by the unit suites by then.
let mutable internal distributedBackend : IBackend option = None

/// The property on every backend, each labelled with the backend's name so that a failure says which one.
let onEveryBackend (property: IBackend -> 'Testable) =
    (match distributedBackend with Some b -> [ b ] | None -> localBackends)
    |> List.map (fun b -> FsCheck.FSharp.Prop.ofTestable (lazy (property b)) |> FsCheck.FSharp.Prop.label b.Name)
    |> List.reduce (fun p q -> FsCheck.FSharp.PropOperators.(.&.) p q)
