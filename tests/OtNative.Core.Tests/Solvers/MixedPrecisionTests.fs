/// Mixed precision: float32 exponentials in the Sinkhorn sweeps, float64 arguments, sums, potentials and answers. The
/// answers are held to float64's: converged by the returned plan's float64-measured error, the value within what that
/// error allows of the float64 solve's.
module OtNative.Core.Tests.MixedPrecisionTests

open System
open Xunit
open OtNative.Core
open OtNative.Core.Tests.Reference
open OtNative.Core.Tests.Generators
open OtNative.Core.Tests.CpuKernelTests

/// The widths as xunit data, here as in CpuKernelTests.
type WidthCases =
    static member widthCases = CpuKernelTests.widthCases ()

let private backendAt width = CpuBackend(cpu.LinearAlgebra, width) :> IBackend

let private maxAbs (a: float[]) = a |> Array.fold (fun m v -> max m (abs v)) 0.0

/// SingleMath.expOfTerm at `width` on float32 inputs (a multiple of 16 of them, every width's float32 lanes).
let private singleExpAt (width: SimdWidth) (inputs: float32[]) =
    // Through the double lanes' pairing, as the sweeps use it: two registers of float64 in, one of float32 between.
    let asDouble = Array.map float inputs
    Simd.run width
        { new IWidthGeneric<float[]> with
            member _.Invoke<'V when 'V :> ILanes<'V> and 'V: struct>() =
                let out = Array.zeroCreate asDouble.Length
                for start in 0 .. 2 * 'V.Count .. asDouble.Length - 1 do
                    let struct (a, b) = 'V.ExpOfTermsInSingle('V.Load(asDouble, start), 'V.Load(asDouble, start + 'V.Count))
                    'V.Store(a, out, start)
                    'V.Store(b, out, start + 'V.Count)
                out }

[<Theory>]
[<MemberData(nameof widthCases, MemberType = typeof<WidthCases>)>]
let ``the float32 exponential is within 2 float32 ulp of e^x, negligible below -87.3, saturates and keeps NaN`` (width: SimdWidth) =
    let rng = Random(12)
    let inputs =
        Array.concat [
            Array.init 160_000 (fun _ -> float32 (-87.3 + 175.3 * rng.NextDouble()))
            Array.init 32_000 (fun _ -> float32 ((float (rng.Next(-120, 120)) + 0.5) * Math.Log 2.0))
            [| -87.3f; -87.4f; -1000.0f; Single.NegativeInfinity; Single.NaN; 88.0f; 0.0f; 1.0f; 1e-30f; -1e-30f; 50.0f; -50.0f
               89.0f; 1000.0f; Single.PositiveInfinity; -0.5f |] ]
    let e = singleExpAt width inputs
    let mutable worst, at = 0.0, nan
    for t in 0 .. inputs.Length - 1 do
        let x = float inputs.[t]
        if Double.IsNaN x then Assert.True(Double.IsNaN e.[t], "NaN must stay NaN")
        elif x < float -87.3f then Assert.True(e.[t] > 0.0 && e.[t] <= 1.3e-38, sprintf "%A: e^%g gave %g" width x e.[t])
        else
            let exact = Math.Exp(min x 88.0)
            let relative = abs (e.[t] - exact) / exact
            if relative > worst then worst <- relative; at <- x
    // 2 ulp of float32 (2⁻²²); the result is a float32 widened, so that is all it can carry.
    Assert.True(worst <= 2.4e-7, sprintf "%A: relative error %g at x = %.9g" width worst at)

[<Theory>]
[<MemberData(nameof widthCases, MemberType = typeof<WidthCases>)>]
let ``a mixed half-step is the float64 one to float32's rounding of each term`` (width: SimdWidth) =
    let rng = Random(13)
    let n, m, d = 130, 257, 3
    let p = OtProblem.create (cloud rng n d) (cloud rng m d) (Some (weights rng n false)) (Some (weights rng m false))
    use solved = Sinkhorn.solve (backendAt width) p { SinkhornOptions.Default with Epsilon = RelativeToMeanCost 0.05; Tolerance = 1e-10 }
    let eps = solved.Epsilon
    let double, mixed = Array.copy solved.F, Array.copy solved.F
    solved.Operator.Softmin(Rows, eps, solved.G, double, Threading.CancellationToken.None)
    (solved.Operator :?> IMixedHalfStep).SoftminMixed(Rows, eps, solved.G, mixed, Threading.CancellationToken.None)
    let worst = Array.map2 (fun (a: float) b -> abs (a - b) / eps) double mixed |> Array.max
    // Each term's relative error is at most ~2⁻²⁴ (1 + |z|); the row's log-sum-exp carries their weighted mean.
    Assert.True(worst < 1e-6, sprintf "%A: the potentials differ by %g ε" width worst)
    Assert.True(worst > 0.0, "the mixed half-step gave the float64 one to the bit: it did not run in float32")

let private tolerances = [| 1e-4; 1e-6; 1e-8; 1e-10 |]

/// The spec's problem grown past the row length at which the CPU runs mixed sweeps (256 points a side).
let private grown (spec: ProblemSpec) = { spec with N = 256 + 9 * spec.N; M = 256 + 7 * spec.M; EpsScale = max spec.EpsScale 0.02 }

[<ProblemProperty(15)>]
let ``mixed precision converges by the float64 measure and its value is the float64 solve's within the error bound`` (spec: ProblemSpec) =
    onEveryBackend <| fun backend ->
    let spec = grown spec
    let p = spec.Problem
    let tolerance = tolerances.[abs spec.Seed % tolerances.Length]
    let options precision =
        { SinkhornOptions.Default with
            Epsilon = RelativeToMeanCost spec.EpsScale; Tolerance = tolerance; MaxIterations = 200_000; Precision = precision }
    use reference = Sinkhorn.solve backend p (options Precision.Double)
    whenConverged reference <| fun () ->
    for width in (if backend.Name = "cpu" then [ SimdWidth.Bits512; SimdWidth.Bits256; SimdWidth.Scalar ] else [ SimdWidth.Bits256 ]) do
        let onWidth = if backend.Name = "cpu" then backendAt width else backend
        use mixed = Sinkhorn.solve onWidth p (options Precision.Mixed)
        Assert.True(mixed.Converged, sprintf "%O, %A, tolerance %g: not converged (error %g)" spec width tolerance mixed.MarginalError)
        if backend.Name <> "cuda" then Assert.True(mixed.Solution.MixedIterations > 0, sprintf "%O, %s: no float32 sweep ran" spec backend.Name)
        Assert.True(mixed.MarginalError < tolerance)
        // |L(f, g) − L(f*, g*)| is at most (max|f| + max|g|) times the plans' marginal errors, for both solves.
        let bound = (maxAbs mixed.F + maxAbs mixed.G + maxAbs reference.F + maxAbs reference.G) * (mixed.MarginalError + reference.MarginalError)
        Assert.True(abs (mixed.Value - reference.Value) <= bound + 1e-14 * (1.0 + abs reference.Value),
                    sprintf "%O, %A: values %.15g and %.15g differ by more than %g" spec width mixed.Value reference.Value bound)

[<Fact>]
let ``a tolerance below float32's floor switches the sweeps to float64 and still converges`` () =
    let rng = Random(14)
    let p = OtProblem.create (cloud rng 300 3) (cloud rng 280 3) None None
    // Tight enough that float32's terms cannot get there: the mixed sweeps stall, float64 finishes.
    let options = { SinkhornOptions.Default with Epsilon = RelativeToMeanCost 0.01; Tolerance = 1e-13; MaxIterations = 100_000; Precision = Precision.Mixed }
    use res = Sinkhorn.solve cpu p options
    Assert.True(res.Converged, sprintf "error %g after %d iterations" res.MarginalError res.Iterations)
    Assert.True(res.MarginalError < 1e-13)
    Assert.True(res.Solution.MixedIterations > 0 && res.Solution.MixedIterations < res.Iterations,
                sprintf "%d mixed of %d iterations" res.Solution.MixedIterations res.Iterations)

[<Fact>]
let ``short rows keep float64 exponentials: float32 would not be faster there`` () =
    let rng = Random(16)
    let p = OtProblem.create (cloud rng 64 3) (cloud rng 300 3) None None
    use res = Sinkhorn.solve cpu p { SinkhornOptions.Default with Precision = Precision.Mixed }
    Assert.True(res.Converged)
    Assert.Equal(0, res.Solution.MixedIterations)

[<Fact>]
let ``auto precision is mixed at loose tolerances and float64 below float32's floor`` () =
    Assert.Equal(Precision.Mixed, Precision.resolve Precision.Auto 1e-6)
    Assert.Equal(Precision.Mixed, Precision.resolve Precision.Auto (10.0 * Precision.mixedFloor))
    Assert.Equal(Precision.Double, Precision.resolve Precision.Auto 1e-9)
    Assert.Equal(Precision.Double, Precision.resolve Precision.Double 1e-2)
    Assert.Equal(Precision.Mixed, Precision.resolve Precision.Mixed 1e-12)
    let rng = Random(15)
    let p = OtProblem.create (cloud rng 300 2) (cloud rng 280 2) None None
    let solve tolerance = Sinkhorn.solve cpu p { SinkhornOptions.Default with Tolerance = tolerance; Precision = Precision.Auto }
    use loose = solve 1e-6
    use tight = solve 1e-11
    Assert.True(loose.Solution.MixedIterations > 0)
    Assert.Equal(0, tight.Solution.MixedIterations)
    // L-BFGS's evaluations stay float64 under Auto (float32's noise cost it evaluations); mixed only when asked for.
    use lbfgs = Sinkhorn.solve cpu p { SinkhornOptions.Default with Tolerance = 1e-6; Precision = Precision.Auto; Solver = ForwardSolver.Lbfgs }
    Assert.Equal(0, lbfgs.Solution.MixedIterations)
    // Decided once, for the solve's own tolerance: annealing's loose stages do not turn a float64 solve mixed.
    use annealed = Sinkhorn.solve cpu p { SinkhornOptions.Default with Tolerance = 1e-11; Precision = Precision.Auto; Anneal = true }
    Assert.Equal(0, annealed.Solution.MixedIterations)

/// Mixed solves through the other loops' entries: annealing, Sinkhorn → L-BFGS, L-BFGS's evaluations, an iteration cap
/// reached mid-way.
[<Fact>]
let ``annealed, switched and capped mixed solves end on float64 iterations with the float64 solve's answer`` () =
    let rng = Random(18)
    let p = OtProblem.create (cloud rng 300 2) (cloud rng 270 2) None None
    let options precision = { SinkhornOptions.Default with Epsilon = RelativeToMeanCost 0.01; Tolerance = 1e-9; Precision = precision }
    let check (what: string) (configure: SinkhornOptions -> SinkhornOptions) =
        use plain = Sinkhorn.solve cpu p (configure (options Precision.Double))
        use mixed = Sinkhorn.solve cpu p (configure (options Precision.Mixed))
        Assert.True(plain.Converged = mixed.Converged, sprintf "%s: converged %b against %b" what mixed.Converged plain.Converged)
        Assert.True(mixed.Solution.MixedIterations > 0 && mixed.Solution.MixedIterations < mixed.Iterations,
                    sprintf "%s: %d mixed of %d iterations" what mixed.Solution.MixedIterations mixed.Iterations)
        if mixed.Converged then
            let bound = (maxAbs mixed.F + maxAbs mixed.G + maxAbs plain.F + maxAbs plain.G) * (mixed.MarginalError + plain.MarginalError)
            Assert.True(abs (mixed.Value - plain.Value) <= bound + 1e-14, sprintf "%s: %.15g against %.15g" what mixed.Value plain.Value)
    check "annealed" (fun o -> { o with Anneal = true })
    check "sinkhorn-lbfgs" (fun o -> { o with Solver = ForwardSolver.SinkhornThenLbfgs })
    check "lbfgs" (fun o -> { o with Solver = ForwardSolver.Lbfgs })
    check "auto" (fun o -> { o with Solver = ForwardSolver.Auto })
    // Stopped by the cap while the sweeps were still float32: the last iteration the cap allows is float64.
    check "capped" (fun o -> { o with MaxIterations = 40 })

[<Fact>]
let ``the symmetric self-transport update runs mixed sweeps and gives the float64 value`` () =
    let rng = Random(17)
    let x = cloud rng 320 2
    let p = OtProblem.create x x None None
    let solve precision =
        Sinkhorn.solveSymmetric cpu p { SinkhornOptions.Default with Epsilon = RelativeToMeanCost 0.05; Tolerance = 1e-9; Precision = precision }
    use plain = solve Precision.Double
    use mixed = solve Precision.Mixed
    Assert.True(mixed.Converged && mixed.MarginalError < 1e-9, sprintf "error %g" mixed.MarginalError)
    Assert.True(mixed.Solution.MixedIterations > 0 && mixed.Solution.MixedIterations < mixed.Iterations,
                sprintf "%d mixed of %d iterations" mixed.Solution.MixedIterations mixed.Iterations)
    Assert.Equal(0, plain.Solution.MixedIterations)
    let bound = 2.0 * (maxAbs mixed.F + maxAbs plain.F) * (mixed.MarginalError + plain.MarginalError)
    Assert.True(abs (mixed.Value - plain.Value) <= bound + 1e-14, sprintf "%.15g against %.15g" mixed.Value plain.Value)
