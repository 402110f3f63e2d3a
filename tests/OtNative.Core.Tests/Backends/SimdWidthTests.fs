/// Every SIMD width of the CPU kernels against the one-lane scalar reference run through the same kernels: the same
/// iterations from the same start give the same potentials, values, gradients and HVPs to rounding (the widths add
/// their sums in different orders, nothing else). 512 bits run in software where the processor has no AVX-512.
module OtNative.Core.Tests.SimdWidthTests

open System
open Xunit
open OtNative.Core
open OtNative.Core.Tests.Reference
open OtNative.Core.Tests.Generators

let private backendAt width = CpuBackend(cpu.LinearAlgebra, width) :> IBackend

let private scalar = backendAt SimdWidth.Scalar

/// A fixed number of plain Sinkhorn iterations (few enough that no small problem reaches a marginal error of exactly
/// zero): every width runs exactly the same updates, so what differs is rounding alone, not where a stopping rule fired.
let private fixedIterations eps =
    { SinkhornOptions.Default with Epsilon = eps; Tolerance = 1e-300; MaxIterations = 12 }

let private cg = { CgOptions.Default with Tolerance = 1e-13; MaxIterations = 5000 }

let private maxAbs (a: float[]) = a |> Array.fold (fun m v -> max m (abs v)) 0.0

let private closeTo (what: string) (tolerance: float) (expected: float[]) (actual: float[]) =
    let scale = 1.0 + maxAbs expected
    let worst = Array.map2 (fun (e: float) a -> abs (a - e)) expected actual |> Array.max
    Assert.True(worst <= tolerance * scale, sprintf "%s: off by %g (scale %g)" what worst scale)

/// Solves p at every vector width and at the scalar width and compares what each gives.
let private agreeAtEveryWidth (p: OtProblem) (eps: Epsilon) =
    use reference = Sinkhorn.solve scalar p (fixedIterations eps)
    let isPoints = p.HasPoints
    let directions = if isPoints then [| Matrix(p.N, p.X.Cols, Array.init (p.N * p.X.Cols) (fun t -> sin (float t + 0.5))) |] else [||]
    let referenceHvp = if isPoints then Some (fst (HessianOperator(reference, cg).ApplyMany directions)) else None
    for width in [ SimdWidth.Bits512; SimdWidth.Bits256; SimdWidth.Bits128 ] do
        use res = Sinkhorn.solve (backendAt width) p (fixedIterations eps)
        let at what = sprintf "%A, n = %d, m = %d: %s" width p.N p.M what
        // A problem small enough to be solved exactly (n = 1, say) stops once its marginal error is zero, which rounding
        // decides; past that point more iterations change nothing.
        Assert.True(reference.Iterations = res.Iterations || max reference.MarginalError res.MarginalError < 1e-13,
                    at (sprintf "%d iterations against %d" res.Iterations reference.Iterations))
        closeTo (at "f") 1e-12 reference.F res.F
        closeTo (at "g") 1e-12 reference.G res.G
        closeTo (at "value") 1e-12 [| reference.Value |] [| res.Value |]
        closeTo (at "sharp value") 1e-12 [| Values.sharp reference |] [| Values.sharp res |]
        closeTo (at "row masses") 1e-12 reference.RowMass res.RowMass
        closeTo (at "marginal error") 1e-12 [| reference.MarginalError |] [| res.MarginalError |]
        match referenceHvp with
        | Some expected ->
            closeTo (at "gradient") 1e-12 (Gradients.eot reference).Data (Gradients.eot res).Data
            let hvp, _ = HessianOperator(res, cg).ApplyMany directions
            closeTo (at "HVP") 1e-8 expected.[0].Data hvp.[0].Data
            // The dense Hessian's host passes (the block diagonal) run at the solving backend's width too.
            let dense (plan: SolvedPlan) = (Hessian.compute plan { HessianOptions.Default with Method = Schur }).Hessian.Data
            closeTo (at "dense Hessian") 1e-9 (dense reference) (dense res)
        | None -> ()

[<ProblemProperty(25)>]
let ``every SIMD width gives the scalar reference's potentials, values, gradients and HVPs`` (spec: ProblemSpec) =
    agreeAtEveryWidth spec.Problem (RelativeToMeanCost (max spec.EpsScale 0.05))

/// Larger shapes than the generator draws: rows of many registers with a ragged tail, each cost struct (d = 1, 2, 3 and
/// any d), passes large enough to run on several threads, and a cost matrix.
[<Theory>]
[<InlineData(1, 70, 90)>]
[<InlineData(2, 300, 217)>]
[<InlineData(3, 129, 257)>]
[<InlineData(6, 40, 33)>]
let ``the widths agree on larger problems of every cost layout`` (d: int, n: int, m: int) =
    let rng = Random(100 * d + n)
    let p = OtProblem.create (cloud rng n d) (cloud rng m d) (Some (weights rng n false)) (Some (weights rng m false))
    agreeAtEveryWidth p (RelativeToMeanCost 0.1)

[<Fact>]
let ``the widths agree on a cost matrix`` () =
    let rng = Random(5)
    let cost = Matrix(45, 61, Array.init (45 * 61) (fun _ -> rng.NextDouble() * 3.0))
    agreeAtEveryWidth (OtProblem.ofCost cost None None) (Absolute 0.2)
