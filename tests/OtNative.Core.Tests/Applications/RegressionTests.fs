module OtNative.Core.Tests.RegressionTests

open System
open Xunit
open OtNative.Core
open OtNative.Applications

let private smallGmm seed =
    Synthetic.gaussianMixtureRegression seed 120 3 2

[<Fact>]
let ``Newton reaches a smaller parameter error than GD in far fewer iterations`` () =
    let problem, theta0 = smallGmm 3
    let o = { ShuffledRegressionOptions.Default with BatchSize = 40; MaxGd = 3000 }
    let run = ShuffledRegression.compare problem theta0 o
    let newton, gd = run.Newton, run.GradientDescent
    Assert.True(newton.ParameterError < gd.ParameterError, sprintf "Newton error %g, GD error %g" newton.ParameterError gd.ParameterError)
    Assert.True(10 * newton.Iterations < gd.Iterations, sprintf "Newton %d iterations, GD %d" newton.Iterations gd.Iterations)
    // GD stopped because it came within the gap of Newton's loss, not at its cap.
    Assert.True(gd.FinalLoss <= newton.FinalLoss + o.GdLossGap)
    // Backtracking keeps Newton monotone; each record is measured before its step.
    let losses = newton.History |> Array.map (fun i -> i.Loss)
    Assert.True(Array.pairwise losses |> Array.forall (fun (a, b) -> b <= a + 1e-12), sprintf "%A" losses)
    Assert.All(newton.History, fun i -> Assert.True(i.MinEigenvalue <= i.MaxEigenvalue && i.MaxEigenvalue > 0.0))
    // The start is θ* + noise: Newton must have moved most of the way.
    let startError = Dense.frobenius (Matrix(3, 2, Array.map2 (-) theta0.Data problem.TrueParameters.Value.Data))
    Assert.True(newton.ParameterError < 0.5 * startError)

[<Fact>]
let ``a Newton start where the Hessian is indefinite takes a damped step, reported, and still descends`` () =
    let problem, _ = smallGmm 1
    // θ = 0.05 θ* collapses Xθ to a tiny blob: every direction of ∇²_θ L has negative curvature there.
    let thetaStar = problem.TrueParameters.Value
    let far = Matrix(thetaStar.Rows, thetaStar.Cols, Array.map (fun v -> 0.05 * v) thetaStar.Data)
    let fit = ShuffledRegression.relaxedNewton problem far { ShuffledRegressionOptions.Default with MaxSgd = 0; MaxNewton = 8 }
    let first = fit.History.[0]
    Assert.True(first.MinEigenvalue < 0.0, sprintf "expected an indefinite start, λ_min = %g" first.MinEigenvalue)
    Assert.True(first.Damped)
    Assert.True(fit.History.[fit.History.Length - 1].Loss < 0.5 * first.Loss)
    Assert.True(fit.ParameterError < Dense.frobenius thetaStar)

[<Fact>]
let ``a Sinkhorn solve that stops short inside Newton is reported in that iteration's record`` () =
    let problem, theta0 = smallGmm 4
    let o = { ShuffledRegressionOptions.Default with MaxSgd = 0; MaxNewton = 3 }
    let capped = ShuffledRegression.relaxedNewton problem theta0 { o with SinkhornTolerance = Some 1e-10; SinkhornMaxIterations = 2 }
    Assert.NotEmpty(capped.History)
    Assert.All(capped.History, fun i -> Assert.True(not i.SinkhornConverged && i.SinkhornIterations <= 2, sprintf "%d iterations, converged %b" i.SinkhornIterations i.SinkhornConverged))
    let full = ShuffledRegression.relaxedNewton problem theta0 o
    Assert.All(full.History, fun i -> Assert.True(i.SinkhornConverged))

[<Fact>]
let ``bad settings and a rank-deficient design give clear errors`` () =
    let problem, theta0 = smallGmm 2
    let o = ShuffledRegressionOptions.Default
    let ex = Assert.Throws<ArgumentException>(fun () -> ShuffledRegression.relaxedNewton problem theta0 { o with NewtonLearningRate = 0.0 } |> ignore)
    Assert.Contains("newtonLearningRate", ex.Message)
    let ex = Assert.Throws<ArgumentException>(fun () -> ShuffledRegression.stochasticStage problem theta0 { o with BatchSize = 500 } |> ignore)
    Assert.Contains("batchSize", ex.Message)
    let x = problem.Design
    let dependent = Matrix(x.Rows, 3, Array.init (x.Rows * 3) (fun t -> if t % 3 = 2 then 2.0 * x.[t / 3, 0] else x.[t / 3, t % 3]))
    let ex = Assert.Throws<ArgumentException>(fun () -> ShuffledRegression.relaxedNewton { problem with Design = dependent } theta0 o |> ignore)
    Assert.Contains("singular", ex.Message)
    Assert.Throws<ArgumentException>(fun () -> ShuffledRegression.gradientDescent problem (Matrix.Zeros(2, 2)) 0.0 o |> ignore) |> ignore

[<Fact>]
let ``synthetic data are deterministic under a seed and rotations are proper`` () =
    let a, ta = smallGmm 7
    let b, tb = smallGmm 7
    Assert.Equal<float[]>(a.Targets.Data, b.Targets.Data)
    Assert.Equal<float[]>(ta.Data, tb.Data)
    let q = Synthetic.rotation (Random 4) 3
    let qtq = Dense.transposeTimes q q
    for i in 0 .. 2 do
        for j in 0 .. 2 do Assert.Equal((if i = j then 1.0 else 0.0), qtq.[i, j], 12)
    let det = q.[0, 0] * (q.[1, 1] * q.[2, 2] - q.[1, 2] * q.[2, 1]) - q.[0, 1] * (q.[1, 0] * q.[2, 2] - q.[1, 2] * q.[2, 0]) + q.[0, 2] * (q.[1, 0] * q.[2, 1] - q.[1, 1] * q.[2, 0])
    Assert.Equal(1.0, det, 12)
    let perm = Synthetic.permutation (Random 5) 50
    Assert.Equal<int[]>(Array.init 50 id, Array.sort perm)

[<Fact>]
let ``rotation + scale: θ is s times a rotation, and the φ-Hessian equals finite differences of the φ-gradient`` () =
    let map = ParameterMap.rotationScale
    let phi = [| log 1.3; 0.4; -0.9; 0.2 |]
    let theta = map.ToTheta phi
    let qtq = Dense.transposeTimes theta theta
    for i in 0 .. 2 do
        for j in 0 .. 2 do Assert.Equal((if i = j then 1.3 * 1.3 else 0.0), qtq.[i, j], 12)
    let rng = Random(8)
    let source = Shapes.centre (Shapes.sampleSurface rng Shapes.chair 60)
    let problem, _ = Synthetic.registrationRotationScale rng source 1.3 0.01 0.2
    let o = { ShuffledRegressionOptions.Default with BatchSize = 30; SinkhornTolerance = Some 1e-12; Cg = { CgOptions.Default with Tolerance = 1e-13 } }
    let _, grad, hess = ShuffledRegression.objective map problem phi true o
    let h = 1e-5
    let fd = Matrix(4, 4, Array.init 16 (fun t ->
        let i, j = t / 4, t % 4
        let at delta = (let _, g, _ = ShuffledRegression.objective map problem (Array.mapi (fun k v -> if k = j then v + delta else v) phi) false o in g)
        ((at h).[i] - (at -h).[i]) / (2.0 * h)))
    Assert.True(Reference.relativeError hess.Value.Data fd.Data < 1e-5, sprintf "φ-Hessian vs FD: %g" (Reference.relativeError hess.Value.Data fd.Data))
    // The gradient itself against differences of the loss.
    let lossAt (p: float[]) = (let l, _, _ = ShuffledRegression.objective map problem p false o in l)
    let fdGrad = Array.init 4 (fun j -> (lossAt (Array.mapi (fun k v -> if k = j then v + h else v) phi) - lossAt (Array.mapi (fun k v -> if k = j then v - h else v) phi)) / (2.0 * h))
    Assert.True(Reference.relativeError grad fdGrad < 1e-6, sprintf "φ-gradient vs FD: %g" (Reference.relativeError grad fdGrad))

[<Fact>]
let ``registration with the rotation + scale model beats gradient descent`` () =
    let rng = Random(3)
    let source = Shapes.centre (Shapes.sampleSurface rng (Shapes.merge [ Shapes.chair; Shapes.box [| 1.0; 0.0; 0.0 |] [| 1.6; 0.4; 0.3 |] ]) 150)
    let problem, phi0 = Synthetic.registrationRotationScale rng source 1.2 0.01 0.2
    let o = { ShuffledRegressionOptions.Default with Epsilon = Absolute 0.01; BatchSize = 50; GdLossGap = 1e-4 }
    let run = ShuffledRegression.compareWith ParameterMap.rotationScale problem phi0 o
    Assert.True(run.Newton.ParameterError < run.GradientDescent.ParameterError, sprintf "Newton %g, GD %g" run.Newton.ParameterError run.GradientDescent.ParameterError)
    Assert.True(5 * run.Newton.Iterations < run.GradientDescent.Iterations, sprintf "Newton %d, GD %d iterations" run.Newton.Iterations run.GradientDescent.Iterations)
