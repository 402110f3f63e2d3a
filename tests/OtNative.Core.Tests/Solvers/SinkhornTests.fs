module OtNative.Core.Tests.SinkhornTests

open System
open Xunit
open FsCheck.Xunit
open OtNative.Core
open OtNative.Core.Tests.Reference
open OtNative.Core.Tests.Generators

[<ProblemProperty(40)>]
let ``log-domain solver matches the dense scaling-form Sinkhorn`` (spec: ProblemSpec) =
    onEveryBackend <| fun backend ->
    // The scaling form underflows at small ε; compare where it is valid.
    let spec = { spec with EpsScale = max spec.EpsScale 0.1 }
    let p = spec.Problem
    let res = Sinkhorn.solve backend p (tight (RelativeToMeanCost spec.EpsScale))
    let plan, fRef, gRef = denseSinkhorn ((OtProblem.costMatrix p).ToArray2D()) p.A p.B res.Epsilon 2_000
    whenConverged res <| fun () ->
    let ours = (res.Materialise()).Data
    let reference = Seq.cast<float> plan |> Array.ofSeq
    Assert.True(relativeError ours reference < 1e-9, sprintf "%O: plan differs by %g" spec (relativeError ours reference))
    let refValue = Array.fold2 (fun s a f -> s + a * f) 0.0 p.A fRef + Array.fold2 (fun s b g -> s + b * g) 0.0 p.B gRef
    Assert.True(abs (res.Value - refValue) <= 1e-9 * (1.0 + abs refValue), sprintf "%O: value %.15g vs %.15g" spec res.Value refValue)

[<ProblemProperty(30)>]
let ``reported marginal error is the returned plan's own row error and columns are exact`` (spec: ProblemSpec) =
    onEveryBackend <| fun backend ->
    let p = spec.Problem
    let res = Sinkhorn.solve backend p { SinkhornOptions.Default with Epsilon = RelativeToMeanCost spec.EpsScale; MaxIterations = 3; Tolerance = 1e-300 }
    let r, s = res.RowMass, res.ColumnMass
    let rowErr = Array.fold2 (fun acc ri ai -> acc + abs (ri - ai)) 0.0 r p.A
    Assert.True(res.Iterations <= 3)
    Assert.True(abs (rowErr - res.MarginalError) <= 1e-12 + 1e-9 * rowErr, sprintf "%O: reported %g, plan has %g" spec res.MarginalError rowErr)
    Assert.True(relativeError s p.B < 1e-12, sprintf "%O: column marginal off by %g" spec (relativeError s p.B))

[<ProblemProperty(25)>]
let ``cost-matrix path equals the point-cloud path`` (spec: ProblemSpec) =
    onEveryBackend <| fun backend ->
    let p = spec.Problem
    let opts = tight (RelativeToMeanCost spec.EpsScale)
    let fromPoints = Sinkhorn.solve backend p opts
    let fromCost = Sinkhorn.solve backend (OtProblem.ofCost (OtProblem.costMatrix p) (Some p.A) (Some p.B)) opts
    // The plans, not the potentials: where one path hands a stalled solve to L-BFGS, (f + c, g − c) may come back.
    FsCheck.FSharp.Prop.filter (fromPoints.Converged && fromCost.Converged) (FsCheck.FSharp.Prop.ofTestable (lazy (
    Assert.True(abs (fromPoints.Value - fromCost.Value) <= 1e-10 * (1.0 + abs fromPoints.Value))
    Assert.True(relativeError (fromCost.Materialise()).Data (fromPoints.Materialise()).Data < 1e-8))))

[<ProblemProperty(25)>]
let ``primal value equals the dual value at convergence`` (spec: ProblemSpec) =
    onEveryBackend <| fun backend ->
    let p = spec.Problem
    let res = Sinkhorn.solve backend p (tight (RelativeToMeanCost spec.EpsScale))
    whenConverged res <| fun () ->
    // Independent primal: ⟨P,C⟩ + ε KL(P‖a⊗b) from the materialised plan and cost.
    let plan = res.Materialise()
    let c = OtProblem.costMatrix p
    let mutable primal = 0.0
    for i in 0 .. p.N - 1 do
        for j in 0 .. p.M - 1 do
            let pij = plan.[i, j]
            let q = p.A.[i] * p.B.[j]
            // 0 log 0 = 0: an entry whose exponent is below −708 is exactly zero in float64.
            let entropy = if pij > 0.0 then pij * log (pij / q) else 0.0
            primal <- primal + pij * c.[i, j] + res.Epsilon * (entropy - pij + q)
    Assert.True(abs (primal - res.Value) <= 1e-9 * (1.0 + abs primal), sprintf "%O: primal %.15g dual %.15g" spec primal res.Value)
    Assert.True(abs (Values.primal res - primal) <= 1e-9 * (1.0 + abs primal))

[<Fact>]
let ``single points: the value is the cost`` () =
    let x = Matrix(1, 2, [| 0.5; -1.0 |])
    let y = Matrix(1, 2, [| 2.0; 1.0 |])
    let p = OtProblem.create x y None None
    let res = Sinkhorn.solve cpu p (tight (Absolute 0.3))
    Assert.Equal(1.5 * 1.5 + 2.0 * 2.0, res.Value, 12)
    Assert.Equal(6.25, Values.sharp res, 12)

[<Fact>]
let ``warm start from converged potentials converges at once`` () =
    let rng = Random(7)
    let p = OtProblem.create (cloud rng 40 2) (cloud rng 30 2) None None
    let opts = { SinkhornOptions.Default with Tolerance = 1e-10 }
    let cold = Sinkhorn.solve cpu p opts
    let warm = Sinkhorn.solve cpu p { opts with Start = Start.FromF cold.F }
    Assert.True(cold.Iterations > 5)
    Assert.Equal(1, warm.Iterations)
    Assert.Equal(cold.Value, warm.Value, 9)
    let fromG = Sinkhorn.solve cpu p { opts with Start = Start.FromG cold.G }
    Assert.True(fromG.Iterations <= 2)

[<Fact>]
let ``large problem: parallel SIMD path matches the sequential reference`` () =
    // 300×257 crosses the parallel threshold and leaves a ragged SIMD tail.
    let rng = Random(11)
    let p = OtProblem.create (cloud rng 300 3) (cloud rng 257 3) (Some(weights rng 300 false)) None
    let res = Sinkhorn.solve cpu p { SinkhornOptions.Default with Epsilon = RelativeToMeanCost 0.5; Tolerance = 1e-12 }
    let plan, _, _ = denseSinkhorn ((OtProblem.costMatrix p).ToArray2D()) p.A p.B res.Epsilon 5000
    Assert.True(relativeError (res.Materialise()).Data (Seq.cast<float> plan |> Array.ofSeq) < 1e-9)

[<Fact>]
let ``progress is reported at the requested interval`` () =
    let rng = Random(3)
    let p = OtProblem.create (cloud rng 20 2) (cloud rng 20 2) None None
    let seen = Collections.Generic.List<int>()
    let res = Sinkhorn.solve cpu p { SinkhornOptions.Default with Epsilon = RelativeToMeanCost 0.01; Tolerance = 1e-12; ProgressInterval = 5; Progress = Some(fun pr -> seen.Add pr.Iteration) }
    Assert.Equal(res.Iterations / 5, seen.Count)
    Assert.All(seen, fun i -> Assert.Equal(0, i % 5))

[<Fact>]
let ``relative epsilon is scale times the weighted mean cost`` () =
    let rng = Random(5)
    let a = weights rng 6 false
    let b = weights rng 4 false
    let p = OtProblem.create (cloud rng 6 3) (cloud rng 4 3) (Some a) (Some b)
    let c = OtProblem.costMatrix p
    let direct = Seq.sum (seq { for i in 0 .. 5 do for j in 0 .. 3 -> a.[i] * b.[j] * c.[i, j] })
    Assert.Equal(0.2 * direct, OtProblem.resolveEpsilon p (RelativeToMeanCost 0.2), 12)

/// Self-transport: the symmetric update returns the alternating solver's value and plan in far fewer iterations.
[<ProblemProperty(25)>]
let ``the symmetric self-transport solve equals the alternating one`` (spec: ProblemSpec) =
    onEveryBackend <| fun backend ->
    let p = spec.Problem
    let self = { p with Geometry = PointClouds(p.X, p.X); B = p.A }
    // ε from the two-cloud problem: a single point has no mean cost against itself.
    let opts = tight (Absolute (max spec.EpsScale 0.05 * OtProblem.meanCost p))
    // Not disposed: the property's body runs after this function returns.
    let plain = Sinkhorn.solve backend self opts
    let symmetric = Sinkhorn.solveSymmetric backend self opts
    whenConverged plain <| fun () ->
    Assert.True(symmetric.Converged, sprintf "%O: symmetric solve did not converge (%g)" spec symmetric.MarginalError)
    Assert.True(abs (symmetric.Value - plain.Value) <= 1e-9 * (1.0 + abs plain.Value), sprintf "%O: %.15g vs %.15g" spec symmetric.Value plain.Value)
    Assert.True(relativeError (symmetric.Materialise()).Data (plain.Materialise()).Data < 1e-8)

[<Fact>]
let ``the divergence's self-terms converge in a small fraction of the alternating iterations`` () =
    // d = 1 Gaussian data at ε = 0.01 × mean cost, where alternating updates of a self-term oscillate for long.
    let rng = Random(31)
    let x = Matrix(300, 1, Array.init 300 (fun _ -> gaussian rng))
    let self = OtProblem.create x x None None
    let opts = { SinkhornOptions.Default with Epsilon = RelativeToMeanCost 0.01; Tolerance = 1e-9; MaxIterations = 200_000 }
    use plain = Sinkhorn.solve cpu self opts
    use symmetric = Sinkhorn.solveSymmetric cpu self opts
    Assert.True(symmetric.Converged)
    Assert.True(symmetric.Iterations * 5 <= plain.Iterations, sprintf "symmetric %d iterations, alternating %d" symmetric.Iterations plain.Iterations)
    Assert.True(abs (symmetric.Value - plain.Value) <= 1e-8 * abs plain.Value)
    Assert.Throws<ArgumentException>(fun () -> Sinkhorn.solveSymmetric cpu (OtProblem.create x (Matrix(2, 1, [| 0.0; 1.0 |])) None None) opts |> ignore) |> ignore

/// A variant of the solve (initialiser, annealing, L-BFGS) changes the iterations, never the answer: the same value
/// and plan as plain Sinkhorn updates at tolerance 1e-10. Both must converge for the comparison: draws whose
/// convergence is sublinear (tens of thousands of iterations) may finish on either side of the cap.
let private sameAnswerAsPlain (spec: ProblemSpec) (variant: SinkhornOptions -> SinkhornOptions) =
    onEveryBackend <| fun backend ->
    let p = spec.Problem
    let opts = { tight (RelativeToMeanCost spec.EpsScale) with Tolerance = 1e-10 }
    let plain = Sinkhorn.solve backend p opts
    let other = Sinkhorn.solve backend p (variant opts)
    FsCheck.FSharp.Prop.filter (plain.Converged && other.Converged) (FsCheck.FSharp.Prop.ofTestable (lazy (
    Assert.True(abs (other.Value - plain.Value) <= 1e-9 * (1.0 + abs plain.Value), sprintf "%O: %.15g vs %.15g" spec other.Value plain.Value)
    Assert.True(relativeError (other.Materialise()).Data (plain.Materialise()).Data < 1e-7))))

[<ProblemProperty(25)>]
let ``the annealed solve returns the plain solve's value and plan`` (spec: ProblemSpec) =
    sameAnswerAsPlain spec (fun o -> { o with Anneal = true })

[<ProblemProperty(25)>]
let ``the Initializer.Gaussian initialiser returns the plain solve's value and plan`` (spec: ProblemSpec) =
    sameAnswerAsPlain spec (fun o -> { o with Initializer = Initializer.Gaussian })

[<ProblemProperty(25)>]
let ``the GMM initialiser returns the plain solve's value and plan`` (spec: ProblemSpec) =
    sameAnswerAsPlain spec (fun o -> { o with Initializer = Initializer.Gmm })

/// L-BFGS on the semi-dual returns the same value and plan as Sinkhorn updates, on any problem.
[<ProblemProperty(40)>]
let ``L-BFGS on the semi-dual returns the Sinkhorn solve's value and plan`` (spec: ProblemSpec) =
    sameAnswerAsPlain spec (fun o -> { o with Solver = ForwardSolver.Lbfgs })

[<Fact>]
let ``the Initializer.Gaussian initialiser's potential is the Monge map's for Initializer.Gaussian-shaped clouds`` () =
    // y = 2x + 1 exactly: the Monge map is T(x) = 2x + 1 and ∇f = 2x − 2T(x) = −2x − 2 (d = 1, c = |x − y|²).
    let rng = Random(33)
    let x = Matrix(50, 1, Array.init 50 (fun _ -> gaussian rng))
    let y = Matrix(50, 1, x.Data |> Array.map (fun v -> 2.0 * v + 1.0))
    let f = Initializers.gaussian LinearAlgebraProviders.managed (OtProblem.create x y None None)
    for i in 1 .. 49 do
        let slope = (f.[i] - f.[0]) / (x.[i, 0] - x.[0, 0])
        let expected = -(x.[i, 0] + x.[0, 0]) - 2.0
        Assert.True(abs (slope - expected) < 1e-9, sprintf "slope %g, expected %g" slope expected)

/// The recipe's problem (OtNative.Testing's generator draws these).
let private sampled seed n m d uniform =
    let s = OtNative.Testing.ProblemSample(seed, n, m, d, 1.0, uniform)
    OtProblem.create (Matrix.OfArray2D s.X) (Matrix.OfArray2D s.Y) (Some s.A) (Some s.B)

[<Theory>]
[<InlineData(1)>]
[<InlineData(2)>]
[<InlineData(5)>]
[<InlineData(17)>]
let ``L-BFGS keeps to its evaluation cap, line searches and the final evaluation included`` (cap: int) =
    // At ε = 0.002 × mean cost the first steps are long and the line search halves them many times: it used to run
    // 39 evaluations under a cap of 5.
    let p = sampled 31 60 70 2 false
    use res = Sinkhorn.solve cpu p { SinkhornOptions.Default with Epsilon = RelativeToMeanCost 0.002; MaxIterations = cap; Solver = ForwardSolver.Lbfgs }
    Assert.True(res.Iterations <= cap, sprintf "%d evaluations under a cap of %d" res.Iterations cap)
    // Two passes an evaluation, two to measure the returned plan.
    Assert.True(res.Solution.Passes <= 2 * cap + 2, sprintf "%d passes under a cap of %d" res.Solution.Passes cap)
    Assert.False(res.Converged)

[<Fact>]
let ``L-BFGS reaches 1e-10 where the Armijo test alone is below the semi-dual's rounding`` () =
    // Easy problems (ε up to 0.9 × mean cost) on which L-BFGS used to stop or creep at a marginal error of 1e-10 to
    // 4e-9: the decrease Armijo asks for there (about ε err²) is below the rounding of the semi-dual's value.
    for seed, n, m, d, scale in [ 9, 4, 4, 1, 0.9; 23, 4, 4, 1, 0.9; 44, 4, 4, 1, 0.9; 13, 6, 5, 2, 0.5; 78, 6, 5, 2, 0.5; 65, 5, 7, 3, 0.3 ] do
        let p = sampled seed n m d false
        let opts = { tight (RelativeToMeanCost scale) with Tolerance = 1e-10; MaxIterations = 2_000 }
        use lbfgs = Sinkhorn.solve cpu p { opts with Solver = ForwardSolver.Lbfgs }
        use plain = Sinkhorn.solve cpu p { opts with Solver = ForwardSolver.Sinkhorn; MaxIterations = 50_000 }
        Assert.True(lbfgs.Converged, sprintf "seed %d: L-BFGS stopped at %g after %d evaluations" seed lbfgs.MarginalError lbfgs.Iterations)
        Assert.True(plain.Converged)
        Assert.True(abs (lbfgs.Value - plain.Value) <= 1e-9 * (1.0 + abs plain.Value), sprintf "seed %d: %.15g vs %.15g" seed lbfgs.Value plain.Value)

[<Fact>]
let ``L-BFGS leaves a flat start, where a column without mass made its curvature pairs promise far too long a step`` () =
    // One source point, three targets, ε ≈ 0.027 × the costs' spread: from g = 0 the first column holds all the mass,
    // the semi-dual is flat along the others, and L-BFGS used to stop at a marginal error of 1.06 after one step.
    let x = Matrix(1, 1, [| 0.6015685754 |])
    let y = Matrix(3, 1, [| 0.5920809772; 1.239412835; 1.448478233 |])
    let b = [| 0.469418966; 0.2936187075; 0.2369623265 |]
    let p = OtProblem.create x y None (Some(Array.map (fun v -> v / Array.sum b) b))
    use plan = Sinkhorn.solve cpu p { tight (Absolute 0.0109545) with Solver = ForwardSolver.Lbfgs; Tolerance = 1e-10 }
    Assert.True(plan.Converged, sprintf "stopped at %g after %d evaluations" plan.MarginalError plan.Iterations)
    // One source point: the plan is b itself.
    Assert.True(relativeError (plan.Materialise()).Data p.B < 1e-9)

[<Fact>]
let ``Sinkhorn hands a stalled solve to L-BFGS and reports when; a solve that does not stall is plain Sinkhorn`` () =
    // n = 8, m = 2, d = 1 at ε = 0.02 × mean cost: a near-permutation plan (entries down to 1e-34 of the largest) on
    // which plain Sinkhorn is still at a marginal error of 1e-5 after 50 000 iterations.
    let p = sampled 1635933297 8 2 1 true
    let opts = { tight (RelativeToMeanCost 0.02) with Tolerance = 1e-11 }
    use plain = Sinkhorn.solve cpu p { opts with Solver = ForwardSolver.Sinkhorn }
    use switched = Sinkhorn.solve cpu p { opts with Solver = ForwardSolver.SinkhornThenLbfgs }
    use lbfgs = Sinkhorn.solve cpu p { opts with Solver = ForwardSolver.Lbfgs }
    Assert.False(plain.Converged)
    Assert.True(switched.Converged, sprintf "stopped at %g after %d iterations" switched.MarginalError switched.Iterations)
    match switched.Solution.SwitchedToLbfgsAt with
    | Some at -> Assert.True(at > 0 && at < switched.Iterations && switched.Iterations < 10_000, sprintf "switched at %d of %d" at switched.Iterations)
    | None -> failwith "the stalled solve did not switch"
    Assert.True(abs (switched.Value - lbfgs.Value) <= 1e-10 * (1.0 + abs lbfgs.Value), sprintf "%.15g vs %.15g" switched.Value lbfgs.Value)
    // A well-conditioned problem converges before any window shows a stall: the same iterations and potentials.
    let easy = sampled 5 30 20 2 false
    let easyOpts = { opts with Epsilon = RelativeToMeanCost 0.5 }
    use easyPlain = Sinkhorn.solve cpu easy { easyOpts with Solver = ForwardSolver.Sinkhorn }
    use easySwitched = Sinkhorn.solve cpu easy easyOpts
    Assert.Equal(None, easySwitched.Solution.SwitchedToLbfgsAt)
    Assert.Equal(easyPlain.Iterations, easySwitched.Iterations)
    Assert.Equal<float[]>(easyPlain.F, easySwitched.F)

[<Fact>]
let ``L-BFGS solves a cost-matrix problem and reports its own marginal error`` () =
    let rng = Random(34)
    let c = Matrix(7, 5, Array.init 35 (fun _ -> rng.NextDouble()))
    let p = OtProblem.ofCost c None None
    use plan = Sinkhorn.solve cpu p { tight (Absolute 0.05) with Solver = ForwardSolver.Lbfgs; Tolerance = 1e-10 }
    Assert.True(plan.Converged)
    let r, s = HMatrix.marginals (plan.Materialise())
    let l1 (u: float[]) (v: float[]) = Array.fold2 (fun acc x y -> acc + abs (x - y)) 0.0 u v
    Assert.Equal(l1 r p.A + l1 s p.B, plan.MarginalError, 14)
    Assert.True(plan.MarginalError < 1e-10)

[<ProblemProperty(25)>]
let ``the automatic solver returns the Sinkhorn solve's value and plan`` (spec: ProblemSpec) =
    sameAnswerAsPlain spec (fun o -> { o with Solver = ForwardSolver.Auto; Initializer = Initializer.Auto })

[<ProblemProperty(25)>]
let ``the sorting initialiser returns the plain solve's value and plan`` (spec: ProblemSpec) =
    sameAnswerAsPlain { spec with D = 1 } (fun o -> { o with Initializer = Initializer.Sorting })

[<Fact>]
let ``the sorting initialiser's potential is the monotone map's, exactly for an affine map`` () =
    // y = 2x + 1 with the points shuffled: T(x) = 2x + 1, f′ = 2x − 2T(x) = −2x − 2, so f(x) = −x² − 2x + const.
    let rng = Random(35)
    let x = Matrix(60, 1, Array.init 60 (fun _ -> gaussian rng))
    let y = Matrix(60, 1, x.Data |> Array.map (fun v -> 2.0 * v + 1.0) |> Array.sortBy (fun _ -> rng.Next()))
    let f = Initializers.sorting (OtProblem.create x y None None)
    let expected i = -(x.[i, 0] * x.[i, 0]) - 2.0 * x.[i, 0]
    for i in 1 .. 59 do
        Assert.True(abs ((f.[i] - f.[0]) - (expected i - expected 0)) < 1e-9, sprintf "point %d: %g against %g" i (f.[i] - f.[0]) (expected i - expected 0))

[<Fact>]
let ``the sorting initialiser cuts the iterations of one-dimensional problems and refuses others`` () =
    // Two-component mixtures at ε = 0.01 × mean cost: from f = 0 the mass crawls between the components (plain
    // Sinkhorn needs more than 100 000 iterations); the monotone map's potential starts next to the answer.
    let rng = Random(36)
    let mixture n shift = Array.init n (fun i -> (if i % 2 = 0 then -2.0 else 2.0) + shift + 0.5 * gaussian rng)
    let p = OtProblem.create (Matrix(400, 1, mixture 400 0.0)) (Matrix(300, 1, mixture 300 1.0 |> Array.map (fun v -> 0.7 * v))) None None
    let opts = { SinkhornOptions.Default with Epsilon = RelativeToMeanCost 0.01; Tolerance = 1e-8; MaxIterations = 5_000 }
    use plain = Sinkhorn.solve cpu p opts
    use sorted = Sinkhorn.solve cpu p { opts with Initializer = Initializer.Sorting }
    use gaussianStart = Sinkhorn.solve cpu p { opts with Initializer = Initializer.Gaussian }
    use auto = Sinkhorn.solve cpu p { opts with Initializer = Initializer.Auto }
    Assert.True(sorted.Converged && gaussianStart.Converged)
    Assert.True(sorted.Iterations * 10 <= plain.Iterations, sprintf "sorting %d iterations, plain %d" sorted.Iterations plain.Iterations)
    Assert.True(sorted.Iterations <= gaussianStart.Iterations, sprintf "sorting %d iterations, Gaussian %d" sorted.Iterations gaussianStart.Iterations)
    Assert.Equal(sorted.Iterations, auto.Iterations)
    Assert.True(abs (sorted.Value - gaussianStart.Value) <= 1e-7 * abs gaussianStart.Value)
    Assert.Throws<NotSupportedException>(fun () -> Initializers.sorting (OtProblem.create (cloud rng 5 2) (cloud rng 4 2) None None) |> ignore) |> ignore
    Assert.Throws<NotSupportedException>(fun () -> Initializers.sorting (OtProblem.ofCost (Matrix(2, 2, [| 0.0; 1.0; 1.0; 0.0 |])) None None) |> ignore) |> ignore

[<ProblemProperty(25)>]
let ``the subsample initialiser returns the plain solve's value and plan`` (spec: ProblemSpec) =
    sameAnswerAsPlain spec (fun o -> { o with Initializer = Initializer.Subsample })

[<Fact>]
let ``the subsample initialiser starts closer than f = 0 on clouds larger than its subsample, and counts its passes`` () =
    let rng = Random(37)
    let n = 700
    let x = Matrix(n, 2, Array.init (2 * n) (fun _ -> rng.NextDouble()))
    let y = Matrix(n, 2, Array.init (2 * n) (fun t -> rng.NextDouble() + (if t % 2 = 0 then 0.5 else 0.0)))
    let p = OtProblem.create x y None None
    let opts = { SinkhornOptions.Default with Epsilon = RelativeToMeanCost 0.01; Tolerance = 1e-8; MaxIterations = 20_000 }
    use plain = Sinkhorn.solve cpu p opts
    use sub = Sinkhorn.solve cpu p { opts with Initializer = Initializer.Subsample }
    Assert.True(plain.Converged && sub.Converged)
    Assert.True(sub.Iterations < plain.Iterations, sprintf "subsample %d iterations, plain %d" sub.Iterations plain.Iterations)
    Assert.True(abs (sub.Value - plain.Value) <= 1e-8 * abs plain.Value, sprintf "%.15g vs %.15g" sub.Value plain.Value)
    // Two passes an iteration, two to measure the plan, and the initialiser's own: at least its extension pass.
    Assert.True(sub.Solution.Passes > 2 * sub.Iterations + 2, sprintf "%d passes for %d iterations" sub.Solution.Passes sub.Iterations)
    Assert.Throws<NotSupportedException>(fun () ->
        Sinkhorn.solve cpu (OtProblem.ofCost (Matrix(2, 2, [| 0.0; 1.0; 1.0; 0.0 |])) None None) { opts with Initializer = Initializer.Subsample } |> ignore) |> ignore
