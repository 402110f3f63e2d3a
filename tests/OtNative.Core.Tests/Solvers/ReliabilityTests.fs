module OtNative.Core.Tests.ReliabilityTests

open System
open Xunit
open FsCheck.Xunit
open OtNative
open OtNative.Core
open OtNative.Core.Tests.Reference
open OtNative.Core.Tests.Generators

let private message (f: unit -> obj) = (Assert.ThrowsAny<ArgumentException>(fun () -> f () |> ignore)).Message

[<Fact>]
let ``renormalising refuses weights that are not all positive, however they sum`` () =
    let x = Matrix(2, 1, [| 0.0; 1.0 |])
    let ex = Assert.ThrowsAny<ArgumentException>(fun () -> OtProblem.createWith x x (Some [| -1.0; -3.0 |]) None true |> ignore)
    Assert.Equal("a", ex.ParamName)
    Assert.Contains("strictly positive", ex.Message)
    Assert.Equal<float[]>([| 0.25; 0.75 |], (OtProblem.createWith x x (Some [| 1.0; 3.0 |]) None true).A)

[<Fact>]
let ``an epsilon below what float64 resolves is refused with the smallest usable one`` () =
    let rng = Random(40)
    let p = OtProblem.create (cloud rng 40 2) (cloud rng 30 2) None None
    let text = message (fun () -> box (Sinkhorn.solve cpu p { SinkhornOptions.Default with Epsilon = RelativeToMeanCost 1e-20 }))
    Assert.Contains("smallest usable ε", text)
    let floor = OtProblem.smallestUsableEpsilon p
    Assert.True(floor > 0.0 && floor < 1e-6 * OtProblem.meanCost p, sprintf "floor %g, mean cost %g" floor (OtProblem.meanCost p))
    // Just above the floor the solve runs, and whatever it returns it says truthfully.
    use plan = Sinkhorn.solve cpu p { SinkhornOptions.Default with Epsilon = Absolute (2.0 * floor); MaxIterations = 50 }
    let r, s = HMatrix.marginals (plan.Materialise())
    let l1 (u: float[]) (v: float[]) = Array.fold2 (fun acc ui vi -> acc + abs (ui - vi)) 0.0 u v
    Assert.Equal(l1 r p.A + l1 s p.B, plan.MarginalError, 12)

[<Fact>]
let ``an epsilon that is not a normal float64 is refused as input, not failed as a solve`` () =
    // Coordinates near 1e-154: the mean cost, and so a relative ε, is subnormal and 1/ε overflows on the first step.
    let rng = Random(41)
    let tiny (z: Matrix) = Matrix(z.Rows, z.Cols, Array.map (fun v -> v * 1e-154) z.Data)
    let p = OtProblem.create (tiny (cloud rng 20 2)) (tiny (cloud rng 20 2)) None None
    let refused = Assert.Throws<ArgumentException>(fun () -> Sinkhorn.solve cpu p { SinkhornOptions.Default with Epsilon = RelativeToMeanCost 0.05 } |> ignore)
    Assert.Contains("below what float64 resolves", refused.Message)
    Assert.Throws<ArgumentException>(fun () -> OtProblem.resolveEpsilon p (Absolute 1e-310) |> ignore) |> ignore

[<Fact>]
let ``a relative epsilon over coincident points is refused even when rounding leaves a tiny mean cost`` () =
    let same = Matrix(5, 2, Array.init 10 (fun k -> if k % 2 = 0 then 3.0 else 3.0 + 1e-15 * float (k % 3)))
    let p = OtProblem.create same same None None
    let ex = Assert.ThrowsAny<ArgumentException>(fun () -> OtProblem.resolveEpsilon p (RelativeToMeanCost 0.05) |> ignore)
    Assert.Equal("Epsilon", ex.ParamName)
    Assert.Contains("coincide", ex.Message)

/// The reported marginal error is the returned plan's true ‖P1 − a‖₁ + ‖Pᵀ1 − b‖₁, from tiny to huge ε and after
/// any number of iterations (converged or not).
[<ProblemProperty(40)>]
let ``the reported marginal error is the returned plan's own`` (spec: ProblemSpec) (exponent: int) (iterations: int) =
    onEveryBackend <| fun backend ->
    let p = spec.Problem
    let floor = OtProblem.smallestUsableEpsilon p
    let eps = max (2.0 * floor) (OtProblem.meanCost p * 10.0 ** float (abs exponent % 16 - 9))
    use plan = Sinkhorn.solve backend p { SinkhornOptions.Default with Epsilon = Absolute eps; MaxIterations = 1 + abs iterations % 300 }
    let r, s = HMatrix.marginals (plan.Materialise())
    let l1 (u: float[]) (v: float[]) = Array.fold2 (fun acc ui vi -> acc + abs (ui - vi)) 0.0 u v
    let error = l1 r p.A + l1 s p.B
    Assert.True(abs (error - plan.MarginalError) <= 1e-12 * (1.0 + error), sprintf "%O ε=%g: reported %g, plan's %g" spec eps plan.MarginalError error)
    if plan.Converged then Assert.True(error < 1e-6)

/// S = diag(s) − Pᵀ diag(1/r) P from a materialised plan, and its eigenvalues (managed, independent of the path).
let private schurSpectrum (plan: Matrix) =
    let r, s = HMatrix.marginals plan
    let n, m = plan.Rows, plan.Cols
    let sMat = Matrix(m, m, Array.init (m * m) (fun t ->
        let i, j = t / m, t % m
        (if i = j then s.[i] else 0.0) - Array.sum (Array.init n (fun k -> plan.[k, i] * plan.[k, j] / r.[k]))))
    fst (LinearAlgebraProviders.managed.SymmetricEigen sMat)

[<Fact>]
let ``the certified path reports S's own smallest kept eigenvalue; a relative threshold is the eigen path's exactly`` () =
    let rng = Random(20)
    let p = OtProblem.create (cloud rng 20 2) (cloud rng 20 2) None None
    // ε = 10³ (the plan is nearly a⊗b, S's spectrum a tight cluster near 1/20) and a moderate ε.
    for eps, accuracy in [ 1e3, 1e-5; 0.5 * OtProblem.meanCost p, 1e-8 ] do
        use plan = Sinkhorn.solve cpu p (tight (Absolute eps))
        let values = schurSpectrum (plan.Materialise())
        let h = Hessian.compute plan { HessianOptions.Default with Method = Schur }
        Assert.Equal(CertifiedCholesky, h.Factorisation)
        Assert.Equal(1e-10, h.Threshold)
        Assert.True(abs (h.SmallestKept - values.[1]) <= accuracy * values.[1], sprintf "ε %g: smallest kept %.12g, S's λ₂ %.12g" eps h.SmallestKept values.[1])
        let relative = Hessian.compute plan { HessianOptions.Default with Method = Schur; Relative = true; Threshold = 1e-6 }
        Assert.Equal(TruncatedEigen, relative.Factorisation)
        Assert.Equal(1e-6 * values.[values.Length - 1], relative.Threshold, 15)
        Assert.True(relativeError relative.Hessian.Data h.Hessian.Data < 1e-9)

[<Fact>]
let ``a plan row without mass is refused by name where the formulas divide by it`` () =
    // One source point far from everything: after a single g-update its row of the returned plan underflows to 0.
    let rng = Random(21)
    let x = cloud rng 6 2
    x.[5, 0] <- 1e3
    let p = OtProblem.create x (cloud rng 5 2) None None
    use plan = Sinkhorn.solve cpu p { SinkhornOptions.Default with Epsilon = Absolute 0.05; MaxIterations = 1 }
    Assert.Equal(0.0, plan.RowMass.[5])
    let schur = Assert.Throws<NumericalFailureException>(fun () -> Hessian.compute plan { HessianOptions.Default with Method = Schur } |> ignore)
    Assert.Contains("row 5", schur.Message)
    let hvp = Assert.Throws<NumericalFailureException>(fun () -> HessianOperator(plan, CgOptions.Default).Apply(Matrix.Zeros(6, 2)) |> ignore)
    Assert.Contains("row 5", hvp.Message)
    // Algorithm 1 does not divide by r: it stays finite.
    Assert.True(Array.forall Double.IsFinite (Hessian.compute plan HessianOptions.Default).Hessian.Data)

/// Values, gradients, the dense Hessian and HVPs of clouds far from the origin equal those of the same clouds
/// (exactly translated) near it: the solver centres what it prepares, so no formula expands |x|² against the spread.
[<ProblemProperty(20)>]
let ``derivatives do not lose digits far from the origin (offsets 1e6 and 1e9)`` (spec: ProblemSpec) =
    onEveryBackend <| fun backend ->
    let spec = { spec with EpsScale = max spec.EpsScale 0.05 }
    let p = spec.Problem
    let rng = Random(spec.Seed + 7)
    let direction = Matrix(p.N, p.X.Cols, Array.init (p.N * p.X.Cols) (fun _ -> gaussian rng))
    let cg = { CgOptions.Default with Tolerance = 1e-13; MaxIterations = 5000 }
    let everything (q: OtProblem) =
        use plan = Sinkhorn.solve backend q (tight (RelativeToMeanCost spec.EpsScale))
        plan.Converged, plan.Value, (Gradients.eot plan).Data,
        (Hessian.compute plan { HessianOptions.Default with Method = Schur }).Hessian.Data,
        (fst (HessianOperator(plan, cg).Apply direction)).Data
    let pairs =
        [ for offset in [ 1e6; 1e9 ] ->
            let far (z: Matrix) = Matrix(z.Rows, z.Cols, z.Data |> Array.map (fun v -> v + offset))
            let farProblem = { p with Geometry = PointClouds(far p.X, far p.Y) }
            // The same point set near the origin, translated exactly (Sterbenz: x − offset is exact).
            let near (z: Matrix) = Matrix(z.Rows, z.Cols, z.Data |> Array.map (fun v -> v - offset))
            let nearProblem = { p with Geometry = PointClouds(near farProblem.X, near farProblem.Y) }
            offset, everything farProblem, everything nearProblem ]
    let allConverged = pairs |> List.forall (fun (_, (c1, _, _, _, _), (c2, _, _, _, _)) -> c1 && c2)
    FsCheck.FSharp.Prop.filter allConverged (FsCheck.FSharp.Prop.ofTestable (lazy (
    for offset, (_, v1, g1, h1, hv1), (_, v2, g2, h2, hv2) in pairs do
        Assert.True(abs (v1 - v2) <= 1e-9 * (1.0 + abs v2), sprintf "%O offset %g: value %.15g vs %.15g" spec offset v1 v2)
        Assert.True(relativeError g1 g2 < 1e-9, sprintf "%O offset %g: gradient %g" spec offset (relativeError g1 g2))
        Assert.True(relativeError h1 h2 < 1e-8, sprintf "%O offset %g: Hessian %g" spec offset (relativeError h1 h2))
        Assert.True(relativeError hv1 hv2 < 1e-8, sprintf "%O offset %g: HVP %g" spec offset (relativeError hv1 hv2)))))

[<Fact>]
let ``the initialisers work at any coordinate scale: the same answer in the scale's units from 1e-150 to 1e150`` () =
    // They square the coordinates (covariances, Bures maps): at 1e78 that overflowed and at 1e120 broke LAPACK, where
    // plain Sinkhorn was fine. A relative ε makes the problem scale-free, so values scale by the square of the scale.
    let rng = Random(42)
    let x, y = cloud rng 60 2, cloud rng 50 2
    let options init = { SinkhornOptions.Default with Epsilon = RelativeToMeanCost 0.05; Tolerance = 1e-9; Initializer = init }
    use reference = Sinkhorn.solve cpu (OtProblem.create x y None None) (options Initializer.None)
    for scale in [ 1e-150; 1e-78; 1.0; 1e78; 1e120; 1e150 ] do
        let times (z: Matrix) = Matrix(z.Rows, z.Cols, Array.map (fun v -> v * scale) z.Data)
        let p = OtProblem.create (times x) (times y) None None
        for init in [ Initializer.Gaussian; Initializer.Gmm; Initializer.Auto ] do
            use res = Sinkhorn.solve cpu p (options init)
            Assert.True(res.Converged, sprintf "scale %g, %A: error %g" scale init res.MarginalError)
            let value = res.Value / (scale * scale)
            Assert.True(abs (value - reference.Value) <= 1e-8 * abs reference.Value,
                        sprintf "scale %g, %A: %.12g against %.12g" scale init value reference.Value)
