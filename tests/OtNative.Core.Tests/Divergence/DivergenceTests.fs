/// The debiased divergence's derivatives (Divergence/DivergencePlans.fs): its dense Hessian against finite differences of
/// its gradient, its matrix-free HVP against that dense Hessian, and the self-term product's precondition.
module OtNative.Core.Tests.DivergenceTests

open OtNative
open System
open Xunit
open OtNative.Core
open OtNative.Core.Tests.Reference
open OtNative.Core.Tests.Generators

[<Theory>]
[<InlineData(1, 5, 4, 2)>]
[<InlineData(2, 6, 7, 1)>]
[<InlineData(3, 4, 4, 3)>]
let ``the debiased divergence's Hessian equals finite differences of its gradient`` (seed: int, n: int, m: int, d: int) =
    let rng = Random(seed)
    let p = OtProblem.create (cloud rng n d) (cloud rng m d) None None
    let opts = { tight (RelativeToMeanCost 0.3) with Tolerance = 1e-13; MaxIterations = 1_000_000 }
    let eps = OtProblem.resolveEpsilon p opts.Epsilon
    let fixedOpts = { opts with Epsilon = Absolute eps }
    let h =
        use plans = DivergencePlans.Solve(cpu, p, fixedOpts)
        plans.Hessian(1e-10, Threading.CancellationToken.None)
    let gradientAt (x: Matrix) =
        use plans = DivergencePlans.Solve(cpu, { p with Geometry = PointClouds(x, p.Y) }, fixedOpts)
        plans.Gradient().Data
    let fd = jacobianByFiniteDifferences gradientAt p.X 1e-5
    let err = relativeError h.Data fd.Data
    Assert.True(err < 1e-5, sprintf "divergence Hessian vs finite differences: %g" err)
    Assert.True(relativeError h.Data (h.Transpose().Data) < 1e-9)

/// The matrix-free divergence HVP (one CG solve per term, the self-term's mixed part from the same solve) equals the
/// dense divergence Hessian times A. Where a plan is a permutation to rounding, H has a second null eigenvalue that
/// Algorithm 1 truncates and CG cannot solve through (n = 2, m = 1 drew one: the self plan's off-diagonal 1e-17), so ε
/// is at least 0.1 × the cross term's mean cost and 0.3 × the self-term's, where no plan of 1 000 draws was
/// numerically disconnected (see the Theorem 5 property).
[<ProblemProperty(20)>]
let ``the divergence HVP equals its dense Hessian times A`` (spec: ProblemSpec) =
    onEveryBackend <| fun backend ->
    let p = spec.Problem
    let selfMeanCost = OtProblem.meanCost { p with Geometry = PointClouds(p.X, p.X); B = p.A }
    let opts = tight (Absolute (max (max spec.EpsScale 0.1 * OtProblem.meanCost p) (0.3 * selfMeanCost)))
    let rng = Random(spec.Seed + 3)
    let directions = Array.init 2 (fun _ -> Matrix(p.N, p.X.Cols, Array.init (p.N * p.X.Cols) (fun _ -> gaussian rng)))
    let cg = { CgOptions.Default with Tolerance = 1e-13; MaxIterations = 5000 }
    use plans = DivergencePlans.Solve(backend, p, opts)
    let products, (report: CgReport) = plans.HessianVectorProducts(cg, directions)
    let dense = plans.Hessian(1e-10, Threading.CancellationToken.None)
    Assert.True(report.Converged, sprintf "%O: CG stopped at %g" spec report.Residual)
    for direction, product in Array.zip directions products do
        let expected = Dense.times dense (Matrix.Column direction.Data)
        Assert.True(relativeError product.Data expected.Data < 1e-8 || Array.forall (fun v -> abs v < 1e-12) expected.Data,
                    sprintf "%O: HVP vs dense %g" spec (relativeError product.Data expected.Data))

[<Fact>]
let ``the self-term product needs a self-transport plan`` () =
    let rng = Random(41)
    let p = OtProblem.create (cloud rng 5 2) (cloud rng 4 2) None None
    use plan = Sinkhorn.solve cpu p (tight (RelativeToMeanCost 0.3))
    let ex = Assert.Throws<ArgumentException>(fun () -> SelfTermProducts.applyMany plan CgOptions.Default [| Matrix.Zeros(5, 2) |] |> ignore)
    Assert.Contains("self-transport", ex.Message)
