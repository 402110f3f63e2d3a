module OtNative.Core.Tests.GaussianMixtureTests

open System
open Xunit
open OtNative.Core
open OtNative.Core.Tests.Reference

let private la = LinearAlgebraProviders.managed

/// Points around three centres 16 standard deviations apart, each cluster stretched by its own linear map, with
/// random positive weights: the clusters' posteriors are hard to within e^-100, so EM's fixed point is their sample moments.
let private separatedClusters (rng: Random) n =
    let centres = [| [| 0.0; 0.0 |]; [| 8.0; 0.0 |]; [| 0.0; 8.0 |] |]
    let shapes = [| array2D [ [ 0.5; 0.0 ]; [ 0.0; 0.2 ] ]; array2D [ [ 0.2; 0.1 ]; [ 0.0; 0.4 ] ]; array2D [ [ 0.3; 0.0 ]; [ -0.2; 0.3 ] ] |]
    let label = Array.init n (fun i -> i % 3)
    let z = Matrix(n, 2, Array.zeroCreate (2 * n))
    for i in 0 .. n - 1 do
        let u, v = gaussian rng, gaussian rng
        let c, s = centres.[label.[i]], shapes.[label.[i]]
        z.[i, 0] <- c.[0] + s.[0, 0] * u + s.[0, 1] * v
        z.[i, 1] <- c.[1] + s.[1, 0] * u + s.[1, 1] * v
    z, label, weights rng n false

[<Fact>]
let ``EM recovers separated clusters' weights, means and covariances, and BIC picks three components`` () =
    let z, label, w = separatedClusters (Random(41)) 600
    let model = GaussianMixture.fit la z w
    Assert.Equal(3, model.Weights.Length)
    // The fit adds 10⁻⁶ × the cloud's mean variance to each covariance's diagonal.
    let overall = Array.init 2 (fun p -> Array.fold2 (fun s wi i -> s + wi * z.[i, p]) 0.0 w [| 0 .. z.Rows - 1 |])
    let floor = 1e-6 * (Array.init 2 (fun p -> Array.fold2 (fun s wi i -> s + wi * (z.[i, p] - overall.[p]) ** 2.0) 0.0 w [| 0 .. z.Rows - 1 |]) |> Array.average)
    for cluster in 0 .. 2 do
        let members = [| for i in 0 .. z.Rows - 1 do if label.[i] = cluster then yield i |]
        let mass = members |> Array.sumBy (fun i -> w.[i])
        let mean = Array.init 2 (fun p -> (members |> Array.sumBy (fun i -> w.[i] * z.[i, p])) / mass)
        let cov p q = (members |> Array.sumBy (fun i -> w.[i] * (z.[i, p] - mean.[p]) * (z.[i, q] - mean.[q]))) / mass
        // The component fitted to this cluster: the one whose mean is nearest the cluster's.
        let c = [| 0 .. 2 |] |> Array.minBy (fun c -> Array.fold2 (fun s u v -> s + (u - v) ** 2.0) 0.0 model.Means.[c] mean)
        Assert.True(abs (model.Weights.[c] - mass) < 1e-12, sprintf "cluster %d: weight %g, mass %g" cluster model.Weights.[c] mass)
        for p in 0 .. 1 do
            Assert.True(abs (model.Means.[c].[p] - mean.[p]) < 1e-10, sprintf "cluster %d: mean %A, sample %A" cluster model.Means.[c] mean)
            for q in 0 .. 1 do
                let expected = cov p q + (if p = q then floor else 0.0)
                Assert.True(abs (model.Covariances.[c].[p, q] - expected) < 1e-10, sprintf "cluster %d: covariance (%d, %d) %.12g, sample %.12g" cluster p q model.Covariances.[c].[p, q] expected)

[<Fact>]
let ``the GMM initialiser is the Initializer.Gaussian one when each cloud is one Gaussian`` () =
    let rng = Random(42)
    let x = Matrix(300, 2, Array.init 600 (fun t -> (if t % 2 = 0 then 1.5 else 0.4) * gaussian rng))
    let y = Matrix(250, 2, Array.init 500 (fun t -> (if t % 2 = 0 then 0.3 else 1.2) * gaussian rng + 2.0))
    let p = OtProblem.create x y None None
    Assert.Equal(1, (GaussianMixture.fit la x p.A).Weights.Length)
    Assert.Equal(1, (GaussianMixture.fit la y p.B).Weights.Length)
    // One component on each side: the component problem is 1×1, any potentials do; the shift is a constant.
    let gmm = Initializers.gaussianMixture la (fun _ _ _ -> [| 0.0 |], [| 0.0 |]) 0.1 p
    let single = Initializers.gaussian la p
    let gap = Array.map2 (-) gmm single
    let spread = Array.max single - Array.min single
    Assert.True(Array.max gap - Array.min gap < 1e-5 * spread, sprintf "potentials differ by %g beyond a constant (spread %g)" (Array.max gap - Array.min gap) spread)

[<Fact>]
let ``the GMM initialiser returns the plain solve's value and plan on separated mixtures, and refuses a cost matrix`` () =
    let rng = Random(43)
    let x, _, a = separatedClusters rng 240
    let y0, _, b = separatedClusters rng 180
    // The target's clusters moved and turned: each source cluster has its own Monge map.
    let y = Matrix(y0.Rows, 2, Array.init (2 * y0.Rows) (fun t -> let i = t / 2 in if t % 2 = 0 then y0.[i, 1] + 0.5 else y0.[i, 0] - 0.5))
    let p = OtProblem.create x y (Some a) (Some b)
    let opts = { tight (RelativeToMeanCost 0.05) with Tolerance = 1e-10; Solver = ForwardSolver.Lbfgs }
    use plain = Sinkhorn.solve cpu p opts
    use gmm = Sinkhorn.solve cpu p { opts with Initializer = Initializer.Gmm }
    Assert.True(plain.Converged && gmm.Converged)
    Assert.True(abs (gmm.Value - plain.Value) <= 1e-9 * (1.0 + abs plain.Value), sprintf "%.15g vs %.15g" gmm.Value plain.Value)
    Assert.True(relativeError (gmm.Materialise()).Data (plain.Materialise()).Data < 1e-7)
    Assert.Throws<NotSupportedException>(fun () ->
        Sinkhorn.solve cpu (OtProblem.ofCost (Matrix(2, 2, [| 0.0; 1.0; 1.0; 0.0 |])) None None) { opts with Initializer = Initializer.Gmm } |> ignore) |> ignore
