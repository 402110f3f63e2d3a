module OtNative.Core.Tests.UnbalancedTests

open System
open Xunit
open OtNative
open OtNative.Core
open OtNative.Core.Tests.Reference
open OtNative.Core.Tests.Generators

/// The relaxation a recipe gets: τ between 0.2 and 5 × mean cost on each side, one side balanced in a third of the
/// draws, so that both the two-sided and the one-sided updates are exercised.
let private relaxationOf (spec: ProblemSpec) (p: OtProblem) =
    let scale = OtProblem.meanCost p
    let rng = Random(spec.Seed)
    let tau () = scale * (0.2 + 4.8 * rng.NextDouble())
    let tauA, tauB =
        match abs spec.Seed % 3 with
        | 0 -> tau (), infinity
        | 1 -> infinity, tau ()
        | _ -> tau (), tau ()
    OtProblem.relaxed tauA tauB p

/// Tight plain Sinkhorn (L-BFGS is for balanced problems), at ε ≥ 0.05 × mean cost.
let private sinkhornAt eps = { tight eps with Solver = ForwardSolver.Sinkhorn; MaxIterations = 200_000 }

let private solveRelaxed (backend: IBackend) (spec: ProblemSpec) =
    let spec = { spec with EpsScale = max spec.EpsScale 0.05 }
    let p = relaxationOf spec spec.Problem
    spec, p, Sinkhorn.solve backend p (sinkhornAt (RelativeToMeanCost spec.EpsScale))

/// The unbalanced problem in the scaling form P = diag(a∘u) K diag(b∘v), K = e^{−C/ε}, with the updates
/// u = (K(b∘v))^{−κ_a}, v = (Kᵀ(a∘u))^{−κ_b} (the form POT's `sinkhorn_knopp_unbalanced` iterates, with its kernel taken
/// against a⊗b), run until the plan stops changing; its value is the primal objective ⟨P,C⟩ + ε KL(P ‖ a⊗b)
/// + τ_a KL(P1 ‖ a) + τ_b KL(Pᵀ1 ‖ b) summed over the dense plan. Shares nothing with the log-domain solver.
let private denseReference (p: OtProblem) (eps: float) =
    let c = OtProblem.costMatrix p
    let n, m = p.N, p.M
    let kappa tau = if Double.IsPositiveInfinity tau then 1.0 else tau / (tau + eps)
    let ka, kb = kappa p.Relaxation.TauA, kappa p.Relaxation.TauB
    let k = Array2D.init n m (fun i j -> exp (-c.[i, j] / eps))
    let u = Array.create n 1.0
    let v = Array.create m 1.0
    let mutable change = infinity
    let mutable sweeps = 0
    while change > 1e-15 && sweeps < 1_000_000 do
        let mutable largest = 0.0
        for i in 0 .. n - 1 do
            let next = (Seq.sum (Seq.init m (fun j -> k.[i, j] * p.B.[j] * v.[j]))) ** -ka
            largest <- max largest (abs (next - u.[i]) / next)
            u.[i] <- next
        for j in 0 .. m - 1 do
            let next = (Seq.sum (Seq.init n (fun i -> k.[i, j] * p.A.[i] * u.[i]))) ** -kb
            largest <- max largest (abs (next - v.[j]) / next)
            v.[j] <- next
        change <- largest
        sweeps <- sweeps + 1
    let plan = Array2D.init n m (fun i j -> p.A.[i] * u.[i] * k.[i, j] * p.B.[j] * v.[j])
    let r = Array.init n (fun i -> Seq.sum (Seq.init m (fun j -> plan.[i, j])))
    let s = Array.init m (fun j -> Seq.sum (Seq.init n (fun i -> plan.[i, j])))
    let kl (q: float[]) (w: float[]) = Array.fold2 (fun acc qi wi -> acc + qi * log (qi / wi) - qi + wi) 0.0 q w
    let penalty tau q w = if Double.IsPositiveInfinity tau then 0.0 else tau * kl q w
    let mutable value = 0.0
    for i in 0 .. n - 1 do
        for j in 0 .. m - 1 do
            let pij = plan.[i, j]
            value <- value + pij * c.[i, j] + eps * (pij * log (pij / (p.A.[i] * p.B.[j])) - pij + p.A.[i] * p.B.[j])
    plan, value + penalty p.Relaxation.TauA r p.A + penalty p.Relaxation.TauB s p.B, Array.sum r

[<ProblemProperty(25)>]
let ``the unbalanced plan, value and mass equal the dense scaling reference; dual and primal values agree`` (spec: ProblemSpec) =
    onEveryBackend <| fun backend ->
    let spec, p, res = solveRelaxed backend spec
    whenConverged res <| fun () ->
    let plan, value, mass = denseReference p res.Epsilon
    let ours = res.Materialise()
    let flat = Array.init (p.N * p.M) (fun t -> plan.[t / p.M, t % p.M])
    Assert.True(relativeError ours.Data flat < 1e-9, sprintf "%O %A: plan %g" spec p.Relaxation (relativeError ours.Data flat))
    let scale = OtProblem.meanCost p
    Assert.True(abs (res.Value - value) < 1e-9 * scale, sprintf "%O %A: value %.15g vs reference %.15g" spec p.Relaxation res.Value value)
    Assert.True(abs (Values.primal res - value) < 1e-9 * scale, sprintf "%O: primal %.15g vs %.15g" spec (Values.primal res) value)
    Assert.True(abs (Values.transportedMass res - mass) < 1e-10, sprintf "%O: mass %.15g vs %.15g" spec (Values.transportedMass res) mass)

[<ProblemProperty(20)>]
let ``the unbalanced gradient equals finite differences of the value`` (spec: ProblemSpec) =
    onEveryBackend <| fun backend ->
    let spec, p, res = solveRelaxed backend spec
    whenConverged res <| fun () ->
    let g = Gradients.eot res
    let valueAt (x: Matrix) =
        use r = Sinkhorn.solve backend { p with Geometry = PointClouds(x, p.Y) } { perturbed (Absolute res.Epsilon) res.F with Solver = ForwardSolver.Sinkhorn; MaxIterations = 200_000 }
        [| r.Value |]
    let fd = jacobianByFiniteDifferences valueAt p.X 1e-6
    Assert.True(relativeError g.Data fd.Data < 1e-6, sprintf "%O %A: gradient vs FD %g" spec p.Relaxation (relativeError g.Data fd.Data))

[<ProblemProperty(20)>]
let ``the unbalanced Hessian (eigen and Schur) equals finite differences of the gradient and the HVP`` (spec: ProblemSpec) =
    onEveryBackend <| fun backend ->
    let spec, p, res = solveRelaxed backend spec
    whenConverged res <| fun () ->
    let eigen = Hessian.compute res HessianOptions.Default
    let schur = Hessian.compute res { HessianOptions.Default with Method = Schur }
    // H is positive definite for a relaxed plan: Algorithm 1 drops nothing.
    Assert.Equal(0, eigen.Dropped)
    let gradAt (x: Matrix) =
        use r = Sinkhorn.solve backend { p with Geometry = PointClouds(x, p.Y) } { perturbed (Absolute res.Epsilon) res.F with Solver = ForwardSolver.Sinkhorn; MaxIterations = 200_000 }
        (Gradients.eot r).Data
    let fd = jacobianByFiniteDifferences gradAt p.X 1e-5
    Assert.True(relativeError eigen.Hessian.Data fd.Data < 1e-5, sprintf "%O %A: Hessian vs FD %g" spec p.Relaxation (relativeError eigen.Hessian.Data fd.Data))
    Assert.True(relativeError schur.Hessian.Data eigen.Hessian.Data < 1e-9, sprintf "%O %A: Schur vs eigen %g" spec p.Relaxation (relativeError schur.Hessian.Data eigen.Hessian.Data))
    let rng = Random(spec.Seed)
    let direction = Matrix(p.N, p.X.Cols, Array.init (p.N * p.X.Cols) (fun _ -> rng.NextDouble() - 0.5))
    let hvp, report = (HessianOperator(res, { CgOptions.Default with Tolerance = 1e-12 })).Apply(direction)
    Assert.True(report.Converged)
    let dense = Dense.times eigen.Hessian (Matrix.Column direction.Data)
    Assert.True(relativeError hvp.Data dense.Data < 1e-8, sprintf "%O %A: HVP vs dense %g" spec p.Relaxation (relativeError hvp.Data dense.Data))

[<Fact>]
let ``a relaxed plan's H is positive definite, its smallest eigenvalue above the penalties' shift`` () =
    let p0 = OtProblem.create (cloud (Random 4) 12 2) (cloud (Random 5) 15 2) None None
    let tau = 0.5 * OtProblem.meanCost p0
    let p = OtProblem.relaxed tau tau p0
    use res = Sinkhorn.solve cpu p (sinkhornAt (RelativeToMeanCost 0.1))
    let spectrum = PlanSpectrum.ofSolved res
    // H_τ = H + ε diag(r/τ, s/τ) with H positive semi-definite: λ_min ≥ ε min(r, s)/τ.
    let shift = res.Epsilon * (Array.append res.RowMass res.ColumnMass |> Array.min) / tau
    Assert.True(spectrum.SmallestPositive >= shift * (1.0 - 1e-9), sprintf "λ_min %g < shift %g" spectrum.SmallestPositive shift)
    Assert.Equal(spectrum.Eigenvalues.[0], spectrum.SmallestPositive)
    use balanced = Sinkhorn.solve cpu p0 (sinkhornAt (RelativeToMeanCost 0.1))
    Assert.True(abs (PlanSpectrum.ofSolved balanced).Eigenvalues.[0] < 1e-12)

[<Fact>]
let ``as τ grows the unbalanced solution tends to the balanced one`` () =
    let p0 = OtProblem.create (cloud (Random 6) 10 2) (cloud (Random 7) 9 2) None None
    let scale = OtProblem.meanCost p0
    use balanced = Sinkhorn.solve cpu p0 (sinkhornAt (Absolute (0.1 * scale)))
    let balancedHessian = (Hessian.compute balanced HessianOptions.Default).Hessian
    let gap tau =
        use relaxed = Sinkhorn.solve cpu (OtProblem.relaxed tau tau p0) (sinkhornAt (Absolute (0.1 * scale)))
        let h = (Hessian.compute relaxed HessianOptions.Default).Hessian
        abs (relaxed.Value - balanced.Value) / scale,
        relativeError (Gradients.eot relaxed).Data (Gradients.eot balanced).Data,
        relativeError h.Data balancedHessian.Data
    let gaps = [ for t in [ 1e1; 1e3; 1e5 ] -> gap (t * scale) ]
    // Each hundredfold τ shrinks every gap, and at τ = 10⁵ × mean cost they are at the level of ε/τ.
    for (v1, g1, h1), (v2, g2, h2) in List.pairwise gaps do
        Assert.True(v2 < v1 && g2 < g1 && h2 < h1, sprintf "%A" gaps)
    let v, g, h = List.last gaps
    Assert.True(v < 1e-5 && g < 1e-5 && h < 1e-4, sprintf "%A" gaps)

[<Fact>]
let ``L-BFGS refuses a relaxed problem and Auto runs Sinkhorn updates; every width gives the same plan`` () =
    let p = OtProblem.relaxed 0.3 infinity (OtProblem.create (cloud (Random 8) 14 3) (cloud (Random 9) 11 3) None None)
    let options = { sinkhornAt (RelativeToMeanCost 0.1) with Solver = ForwardSolver.Lbfgs }
    let e = Assert.Throws<NotSupportedException>(fun () -> Sinkhorn.solve cpu p options |> ignore)
    Assert.Contains("Sinkhorn", e.Message)
    Assert.Throws<NotSupportedException>(fun () -> Sinkhorn.solve cpu p { options with Solver = ForwardSolver.SinkhornThenLbfgs } |> ignore) |> ignore
    use auto = Sinkhorn.solve cpu p { options with Solver = ForwardSolver.Auto }
    use plain = Sinkhorn.solve cpu p { options with Solver = ForwardSolver.Sinkhorn }
    Assert.True(auto.Converged)
    Assert.Equal(plain.Value, auto.Value, 12)
    for width in [ SimdWidth.Scalar; SimdWidth.Bits128; SimdWidth.Bits256; SimdWidth.Bits512 ] do
        use atWidth = Sinkhorn.solve (CpuBackend(LinearAlgebraProviders.preferred, width)) p { options with Solver = ForwardSolver.Sinkhorn }
        Assert.True(relativeError atWidth.F plain.F < 1e-12, sprintf "%A" width)
        Assert.Equal(plain.Iterations, atWidth.Iterations)

[<Fact>]
let ``the unbalanced divergence is zero between a cloud and itself, needs one τ, and its gradient equals finite differences`` () =
    let x = cloud (Random 10) 9 2
    let y = cloud (Random 11) 8 2
    let tau = 0.4
    let opts = { sinkhornAt (Absolute 0.15) with Tolerance = 1e-12 }
    use same = DivergencePlans.Solve(cpu, OtProblem.relaxed tau tau (OtProblem.create x x None None), opts)
    Assert.True(abs same.Value < 1e-12, sprintf "%g" same.Value)
    Assert.Throws<NotSupportedException>(fun () -> DivergencePlans.Solve(cpu, OtProblem.relaxed tau 1.0 (OtProblem.create x y None None), opts) |> ignore) |> ignore
    let p = OtProblem.relaxed tau tau (OtProblem.create x y None None)
    use plans = DivergencePlans.Solve(cpu, p, opts)
    Assert.True(plans.Value > 0.0)
    let valueAt (z: Matrix) =
        use q = DivergencePlans.Solve(cpu, { p with Geometry = PointClouds(z, y) }, opts)
        [| q.Value |]
    let fd = jacobianByFiniteDifferences valueAt x 1e-6
    let g = plans.Gradient()
    Assert.True(relativeError g.Data fd.Data < 1e-6, sprintf "divergence gradient vs FD %g" (relativeError g.Data fd.Data))

[<Fact>]
let ``the unbalanced divergence's Hessian equals finite differences of its gradient and its HVPs`` () =
    let x = cloud (Random 12) 8 2
    let y = cloud (Random 13) 7 2
    let tau = 0.6
    let opts = { sinkhornAt (Absolute 0.2) with Tolerance = 1e-12 }
    let p = OtProblem.relaxed tau tau (OtProblem.create x y None None)
    use plans = DivergencePlans.Solve(cpu, p, opts)
    let h = plans.Hessian(1e-10, Threading.CancellationToken.None)
    let gradientAt (z: Matrix) =
        use q = DivergencePlans.Solve(cpu, { p with Geometry = PointClouds(z, y) }, opts)
        q.Gradient().Data
    let fd = jacobianByFiniteDifferences gradientAt x 1e-5
    Assert.True(relativeError h.Data fd.Data < 1e-5, sprintf "divergence Hessian vs FD %g" (relativeError h.Data fd.Data))
    let rng = Random 14
    let direction = Matrix(8, 2, Array.init 16 (fun _ -> rng.NextDouble() - 0.5))
    let products, report = plans.HessianVectorProducts({ CgOptions.Default with Tolerance = 1e-12 }, [| direction |])
    Assert.True(report.Converged)
    let dense = Dense.times h (Matrix.Column direction.Data)
    Assert.True(relativeError products.[0].Data dense.Data < 1e-8, sprintf "divergence HVP vs dense %g" (relativeError products.[0].Data dense.Data))

[<Fact>]
let ``a relaxed self-transport solved by the symmetric update equals the alternating solve and the dense reference`` () =
    let x = cloud (Random 15) 11 2
    let a = weights (Random 16) 11 false
    for tau in [ 0.3; 2.0 ] do
        let p = OtProblem.relaxed tau tau (OtProblem.create x x (Some a) (Some a))
        let opts = { sinkhornAt (Absolute 0.2) with Tolerance = 1e-12 }
        use symmetric = Sinkhorn.solveSymmetric cpu p opts
        use alternating = Sinkhorn.solve cpu p opts
        Assert.True(symmetric.Converged && alternating.Converged)
        let plan, value, mass = denseReference p 0.2
        Assert.Equal(value, symmetric.Value, 12)
        Assert.Equal(alternating.Value, symmetric.Value, 12)
        Assert.Equal(mass, Values.transportedMass symmetric, 12)
        let flat = Array.init (11 * 11) (fun t -> plan.[t / 11, t % 11])
        Assert.True(relativeError (symmetric.Materialise()).Data flat < 1e-9)
        // One τ on both sides only: the same cloud relaxed unevenly is no self-transport.
        Assert.Throws<ArgumentException>(fun () -> Sinkhorn.solveSymmetric cpu (OtProblem.relaxed tau (2.0 * tau) p) opts |> ignore) |> ignore

[<Fact>]
let ``a relaxed solve in mixed precision converges by the float64 measure at every width and gives the float64 value`` () =
    let p = OtProblem.relaxed 0.5 0.8 (OtProblem.create (cloud (Random 17) 300 2) (cloud (Random 18) 280 2) None None)
    let options precision = { sinkhornAt (RelativeToMeanCost 0.05) with Tolerance = 1e-8; Precision = precision }
    use reference = Sinkhorn.solve cpu p (options Precision.Double)
    Assert.True(reference.Converged)
    for width in [ SimdWidth.Bits512; SimdWidth.Bits256; SimdWidth.Bits128; SimdWidth.Scalar ] do
        use mixed = Sinkhorn.solve (CpuBackend(LinearAlgebraProviders.preferred, width)) p (options Precision.Mixed)
        Assert.True(mixed.Converged && mixed.MarginalError < 1e-8, sprintf "%A: error %g" width mixed.MarginalError)
        Assert.True(mixed.Solution.MixedIterations > 0, sprintf "%A: no float32 sweep ran" width)
        Assert.True(abs (mixed.Value - reference.Value) < 1e-7 * abs reference.Value, sprintf "%A: %.15g vs %.15g" width mixed.Value reference.Value)
