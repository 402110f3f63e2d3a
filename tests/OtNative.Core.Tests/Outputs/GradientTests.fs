module OtNative.Core.Tests.GradientTests

open System
open Xunit
open FsCheck.Xunit
open OtNative.Core
open OtNative.Core.Tests.Reference
open OtNative.Core.Tests.Generators

/// L_ε with x replaced, warm-started from a nearby solution.
let private valueAt (p: OtProblem) (x: Matrix) eps (warm: float[]) =
    let q = { p with Geometry = PointClouds(x, p.Y) }
    (Sinkhorn.solve cpu q (perturbed (Absolute eps) warm)).Value

[<ProblemProperty(30)>]
let ``EOT gradient equals central finite differences (math.md §7.1)`` (spec: ProblemSpec) =
    onEveryBackend <| fun backend ->
    let p = spec.Problem
    let res = Sinkhorn.solve backend p (tight (RelativeToMeanCost spec.EpsScale))
    whenConverged res <| fun () ->
    let g = Gradients.eot res
    let h = 1e-5
    let fd =
        Array.init g.Data.Length (fun t ->
            let shifted delta =
                let x = p.X.Copy()
                x.Data.[t] <- x.Data.[t] + delta
                valueAt p x res.Epsilon res.F
            (shifted h - shifted -h) / (2.0 * h))
    let err = relativeError g.Data fd
    Assert.True(err < 1e-6, sprintf "%O: relative error %g" spec err)

[<ProblemProperty(30)>]
let ``translation invariance and the gradient-sum identity (math.md §7.7)`` (spec: ProblemSpec) =
    onEveryBackend <| fun backend ->
    let p = spec.Problem
    let opts = tight (RelativeToMeanCost spec.EpsScale)
    let res = Sinkhorn.solve backend p opts
    let rng = Random(spec.Seed + 1)
    let t = Array.init spec.D (fun _ -> 3.0 * gaussian rng)
    let move (z: Matrix) = Matrix(z.Rows, z.Cols, Array.init z.Data.Length (fun k -> z.Data.[k] + t.[k % z.Cols]))
    let moved = Sinkhorn.solve backend { p with Geometry = PointClouds(move p.X, move p.Y) } { opts with Epsilon = Absolute res.Epsilon }
    whenConverged res <| fun () ->
    Assert.True(abs (moved.Value - res.Value) <= 1e-9 * (1.0 + abs res.Value), sprintf "%O: %.15g vs %.15g" spec moved.Value res.Value)
    let g = Gradients.eot res
    let r, s = res.RowMass, res.ColumnMass
    for q in 0 .. spec.D - 1 do
        let lhs = Seq.sum (seq { for k in 0 .. p.N - 1 -> g.[k, q] })
        let rhs = 2.0 * (Seq.sum (seq { for k in 0 .. p.N - 1 -> r.[k] * p.X.[k, q] }) - Seq.sum (seq { for j in 0 .. p.M - 1 -> s.[j] * p.Y.[j, q] }))
        Assert.True(abs (lhs - rhs) <= 1e-12 * (1.0 + abs rhs), sprintf "%O: Σ G = %g, identity gives %g" spec lhs rhs)

[<Fact>]
let ``linear-model gradient equals finite differences in theta`` () =
    let rng = Random(21)
    let design = cloud rng 8 3
    let theta = cloud rng 3 2
    let y = cloud rng 7 2
    let problemAt (th: Matrix) = OtProblem.create (Dense.times design th) y None None
    let opts = tight (Absolute 0.5)
    let res = Sinkhorn.solve cpu (problemAt theta) opts
    let grad = Gradients.linearModel design (Gradients.eot res)
    let h = 1e-5
    let fd =
        Array.init theta.Data.Length (fun t ->
            let at delta =
                let th = theta.Copy()
                th.Data.[t] <- th.Data.[t] + delta
                (Sinkhorn.solve cpu (problemAt th) { opts with Start = Start.FromF res.F }).Value
            (at h - at -h) / (2.0 * h))
    Assert.True(relativeError grad.Data fd < 1e-6, sprintf "relative error %g" (relativeError grad.Data fd))

[<Fact>]
let ``cost gradient is the plan and matches finite differences in C`` () =
    let rng = Random(4)
    let c = Matrix(4, 5, Array.init 20 (fun _ -> 2.0 * rng.NextDouble()))
    let a = weights rng 4 false
    let b = weights rng 5 false
    let opts = tight (Absolute 0.3)
    let res = Sinkhorn.solve cpu (OtProblem.ofCost c (Some a) (Some b)) opts
    let plan = res.Materialise()
    let h = 1e-6
    let fd =
        Array.init 20 (fun t ->
            let at delta =
                let cc = c.Copy()
                cc.Data.[t] <- cc.Data.[t] + delta
                (Sinkhorn.solve cpu (OtProblem.ofCost cc (Some a) (Some b)) opts).Value
            (at h - at -h) / (2.0 * h))
    Assert.True(relativeError plan.Data fd < 1e-6, sprintf "relative error %g" (relativeError plan.Data fd))
