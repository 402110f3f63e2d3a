module OtNative.Core.Tests.ValidationTests

open OtNative
open System
open Xunit
open OtNative.Core
open OtNative.Core.Tests.Reference

let private x = Matrix(3, 2, [| 0.0; 1.0; 2.0; 0.5; -1.0; 0.3 |])
let private y = Matrix(2, 2, [| 1.0; 1.0; 0.0; -2.0 |])

let private paramOf (f: unit -> obj) =
    let ex = Assert.ThrowsAny<ArgumentException>(fun () -> f () |> ignore)
    ex.ParamName

[<Fact>]
let ``non-finite coordinates name the cloud`` () =
    let bad = x.Copy()
    bad.[1, 1] <- nan
    Assert.Equal("x", paramOf (fun () -> box (OtProblem.create bad y None None)))
    let inf = y.Copy()
    inf.[0, 0] <- infinity
    Assert.Equal("y", paramOf (fun () -> box (OtProblem.create x inf None None)))

[<Fact>]
let ``weights must be positive, normalised, finite and of the right length`` () =
    Assert.Equal("a", paramOf (fun () -> box (OtProblem.create x y (Some [| 0.5; 0.6; -0.1 |]) None)))
    Assert.Equal("a", paramOf (fun () -> box (OtProblem.create x y (Some [| 0.5; 0.3; 0.3 |]) None)))
    Assert.Equal("b", paramOf (fun () -> box (OtProblem.create x y None (Some [| 0.5; nan |]))))
    Assert.Equal("b", paramOf (fun () -> box (OtProblem.create x y None (Some [| 1.0 |]))))
    Assert.Equal("b", paramOf (fun () -> box (OtProblem.create x y None (Some [| 0.0; 1.0 |]))))

[<Fact>]
let ``renormalisation is applied only when asked`` () =
    let p = OtProblem.createWith x y (Some [| 1.0; 2.0; 1.0 |]) None true
    Assert.Equal<float[]>([| 0.25; 0.5; 0.25 |], p.A)

[<Fact>]
let ``dimension mismatch and empty clouds are rejected`` () =
    Assert.Equal("y", paramOf (fun () -> box (OtProblem.create x (Matrix(2, 3, Array.zeroCreate 6)) None None)))
    Assert.Equal("x", paramOf (fun () -> box (OtProblem.create (Matrix(0, 2, [||])) y None None)))
    Assert.Equal("cost", paramOf (fun () -> box (OtProblem.ofCost (Matrix(0, 0, [||])) None None)))

[<Fact>]
let ``epsilon, tolerance and iteration limits are checked`` () =
    let p = OtProblem.create x y None None
    let solveWith o = fun () -> box (Sinkhorn.solve cpu p o)
    Assert.Equal("Epsilon", paramOf (solveWith { SinkhornOptions.Default with Epsilon = Absolute 0.0 }))
    Assert.Equal("Epsilon", paramOf (solveWith { SinkhornOptions.Default with Epsilon = RelativeToMeanCost -1.0 }))
    Assert.Equal("Epsilon", paramOf (solveWith { SinkhornOptions.Default with Epsilon = Absolute nan }))
    Assert.Equal("Tolerance", paramOf (solveWith { SinkhornOptions.Default with Tolerance = 0.0 }))
    Assert.Equal("MaxIterations", paramOf (solveWith { SinkhornOptions.Default with MaxIterations = 0 }))
    Assert.Equal("InitialF", paramOf (solveWith { SinkhornOptions.Default with Start = Start.FromF [| 0.0 |] }))

[<Fact>]
let ``relative epsilon on coincident points is a clear error`` () =
    let same = Matrix(2, 1, [| 1.0; 1.0 |])
    let p = OtProblem.create same same None None
    Assert.Equal("Epsilon", paramOf (fun () -> box (OtProblem.resolveEpsilon p (RelativeToMeanCost 0.1))))

[<Fact>]
let ``overflowing costs stop the solver with diagnostics instead of NaN`` () =
    // Finite coordinates whose squared distances overflow float64.
    let p = OtProblem.create (Matrix(2, 1, [| 0.0; 0.0 |])) (Matrix(2, 1, [| 1e200; -1e200 |])) None None
    let ex = Assert.Throws<NumericalFailureException>(fun () -> Sinkhorn.solve cpu p { SinkhornOptions.Default with Epsilon = Absolute 1.0 } |> ignore)
    Assert.Contains("non-finite", ex.Message)
    Assert.Equal(0, ex.Iterations)

[<Fact>]
let ``required convergence raises with the diagnostics`` () =
    let rng = Random(2)
    let p = OtProblem.create (cloud rng 30 2) (cloud rng 30 2) None None
    let ex = Assert.Throws<SinkhornConvergenceException>(fun () -> Sinkhorn.solve cpu p { SinkhornOptions.Default with Epsilon = RelativeToMeanCost 0.01; MaxIterations = 2; RequireConvergence = true } |> ignore)
    Assert.Equal(2, ex.Iterations)
    Assert.True(ex.MarginalError > 0.0)
