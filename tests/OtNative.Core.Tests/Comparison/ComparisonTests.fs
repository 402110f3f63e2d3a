module OtNative.Core.Tests.ComparisonTests

open System
open Xunit
open OtNative.Core
open OtNative.Comparison
open OtNative.Core.Tests.Reference

let private wellConditioned seed =
    let rng = Random(seed)
    let p = OtProblem.create (cloud rng 6 2) (cloud rng 5 2) (Some(weights rng 6 false)) None
    let eps = 0.5 * OtProblem.meanCost p
    let tol = 1e-12
    let res = Sinkhorn.solve cpu p (tight (Absolute eps))
    p, res, tol

[<Theory>]
[<InlineData(1)>]
[<InlineData(2)>]
[<InlineData(3)>]
let ``unroll, implicit and the analytic Hessians agree on well-conditioned problems`` (seed: int) =
    let p, res, tol = wellConditioned seed
    let run m = HessianComparison.run res tol 100_000 0.0 m
    let reference = (run AnalyticTruncated).Hessian
    let check m bound =
        let r = run m
        let err = relativeError r.Hessian.Data reference.Data
        Assert.True(err < bound, sprintf "%A: relative error %g" m err)
        r
    let unrolled = check Unroll 1e-8
    Assert.True(unrolled.InnerIterations > 1)
    let implicitRun = check Implicit 1e-4
    Assert.Equal(0, implicitRun.Unconverged)
    // Without regularisation H's null eigenvalue (H (1, −1) = 0) is inverted as it comes out of the eigen-solver: a
    // rounding-sized value whose share, (vᵀR)²/λ with vᵀR of rounding size too, vanishes — or, when the solver
    // returns it as exactly zero, an infinity, which the method reports as it is (a failed test in the protocol).
    let values, _ = res.LinearAlgebra.SymmetricEigen(HMatrix.dense (res.Materialise()))
    if values |> Array.exists (fun v -> v = 0.0) then
        Assert.False((run AnalyticNoRegularisation).Hessian.Data |> Array.forall Double.IsFinite, "an exactly zero eigenvalue was inverted to a finite value")
    else check AnalyticNoRegularisation 1e-9 |> ignore
    check AnalyticSchur 1e-9 |> ignore

[<Fact>]
let ``unroll runs the same iterations as the solver and its Hessian is the early-stopped map's`` () =
    let p, _, _ = wellConditioned 4
    let eps = 0.5 * OtProblem.meanCost p
    let loose = 1e-3
    let res = Sinkhorn.solve cpu p { SinkhornOptions.Default with Epsilon = Absolute eps; Tolerance = loose }
    let h, iterations = HessianComparison.unroll res.LinearAlgebra p.X p.Y p.A p.B eps loose 100_000
    Assert.Equal(res.Iterations, iterations)
    // The reference: finite differences of the gradient of the solver stopped after exactly that many iterations
    // (the same returned pair), at every input coordinate.
    let gradientAfter (x: Matrix) =
        use plan = Sinkhorn.solve cpu { p with Geometry = PointClouds(x, p.Y) } { SinkhornOptions.Default with Epsilon = Absolute eps; Tolerance = 1e-300; MaxIterations = iterations }
        (Gradients.eot plan).Data
    let fd = jacobianByFiniteDifferences gradientAfter p.X 1e-6
    let err = relativeError h.Data fd.Data
    Assert.True(err < 1e-6, sprintf "unrolled Hessian vs finite differences of the early-stopped map: %g" err)

[<Fact>]
let ``the marginal error matches a hand-computed case`` () =
    // n = 2, d = 1: row sums 3 + 1 = 4 and 1 + 2 = 3 against 2·w = 2 and 1: errors 2 and 2, norm √8.
    let h = Matrix(2, 2, [| 3.0; 1.0; 1.0; 2.0 |])
    Assert.Equal(sqrt 8.0, Hessian.marginalError h 1 [| 1.0; 0.5 |], 15)
    // d = 2, n = 1: Hess = [[2w+1, 0.5], [0.5, 2w]] with w = 0.25 → errors 1, 0.5, 0.5, 0: √1.5.
    let h2 = Matrix(2, 2, [| 1.5; 0.5; 0.5; 0.5 |])
    Assert.Equal(sqrt 1.5, Hessian.marginalError h2 2 [| 0.25 |], 15)

[<Fact>]
let ``the batch API equals single solves`` () =
    let rng = Random(11)
    let problems =
        Array.init 24 (fun i ->
            let n, m = 3 + i % 5, 4 + i % 3
            OtProblem.create (cloud rng n 3) (cloud rng m 3) None (Some(weights rng m false)))
    let directions = problems |> Array.map (fun p -> Matrix(p.N, 3, Array.init (p.N * 3) (fun _ -> gaussian rng)))
    let opts = { SinkhornOptions.Default with Tolerance = 1e-10 }
    let request = { Gradients = true; Hessians = true; HvpDirections = Some directions; Cg = CgOptions.Default; SharpValues = false }
    let batch = Batch.solve cpu problems opts request
    Assert.Equal(problems.Length, batch.Length)
    for i in 0 .. problems.Length - 1 do
        let p = problems.[i]
        let single = Sinkhorn.solve cpu p opts
        let item = batch.[i]
        Assert.Equal<float[]>(single.F, item.Solution.F)
        Assert.Equal(single.Value, item.Solution.Value)
        Assert.Equal<float[]>((Gradients.eot single).Data, item.Gradient.Value.Data)
        let dense = (Hessian.compute single { HessianOptions.Default with Method = Schur }).Hessian
        Assert.Equal<float[]>(dense.Data, item.Hessian.Value.Data)
        let hv, _ = HessianOperator(single, CgOptions.Default).Apply directions.[i]
        Assert.Equal<float[]>(hv.Data, item.HessianVectorProduct.Value.Data)

[<Fact>]
let ``a batch rejects a direction count that does not match its problems`` () =
    let rng = Random(2)
    let good = OtProblem.create (cloud rng 4 2) (cloud rng 4 2) None None
    let ex = Assert.Throws<ArgumentException>(fun () ->
        Batch.solve cpu [| good; good |] SinkhornOptions.Default { BatchRequest.Default with HvpDirections = Some [| Matrix.Zeros(4, 2) |] } |> ignore)
    Assert.Contains("one per problem", ex.Message)
