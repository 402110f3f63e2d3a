module OtNative.Core.Tests.SeamTests

open System
open Xunit
open OtNative.Core
open OtNative.Core.Tests.Reference

let private clouds seed n m d =
    let rng = Random(seed: int)
    OtProblem.create (cloud rng n d) (cloud rng m d) None None

[<Fact>]
let ``backends say in advance what they cannot take, and why`` () =
    let cuda = CudaBackend.Instance :> IBackend
    let points = clouds 1 5 4 2
    let cost = OtProblem.ofCost (OtProblem.costMatrix points) None None
    Assert.Equal(Supported, cpu.Supports cost)
    Assert.Equal(Supported, cpu.Supports points)
    let reason support = match support with Unsupported r -> r | Supported -> ""
    Assert.Contains("cost matrix", reason (cuda.Supports cost))
    Assert.Contains("d = 9", reason (cuda.Supports(clouds 2 3 3 9)))
    if not cuda.IsAvailable then
        Assert.Contains("unavailable", reason (cuda.Supports points))
        let ex = Assert.Throws<NotSupportedException>(fun () -> cuda.Prepare points |> ignore)
        Assert.Contains("cannot take this problem", ex.Message)

[<Fact>]
let ``a backend's dense work runs on its own linear algebra`` () =
    let p = clouds 3 12 9 2
    let opts = tight (RelativeToMeanCost 0.1)
    use native = Sinkhorn.solve cpu p opts
    use managed = Sinkhorn.solve CpuBackend.Managed p opts
    Assert.Same(LinearAlgebraProviders.preferred, native.LinearAlgebra)
    Assert.Same(LinearAlgebraProviders.managed, managed.LinearAlgebra)
    let hn = (Hessian.compute native { HessianOptions.Default with Method = Schur }).Hessian
    let hm = (Hessian.compute managed { HessianOptions.Default with Method = Schur }).Hessian
    Assert.True(relativeError hn.Data hm.Data < 1e-10, sprintf "native vs managed Hessian %g" (relativeError hn.Data hm.Data))

[<Fact>]
let ``the solved plan's cached marginals are the materialised plan's, and a disposed plan refuses work`` () =
    let p = clouds 4 15 11 3
    let plan = Sinkhorn.solve cpu p { SinkhornOptions.Default with MaxIterations = 4 }
    let dense = plan.Materialise()
    let r, s = HMatrix.marginals dense
    Assert.True(relativeError plan.RowMass r < 1e-13)
    Assert.True(relativeError plan.ColumnMass s < 1e-13)
    Assert.True(relativeError plan.TransportedTargets.Data (Dense.times dense plan.Problem.Y).Data < 1e-13)
    (plan :> IDisposable).Dispose()
    Assert.Throws<ObjectDisposedException>(fun () -> plan.RowMass |> ignore) |> ignore
    Assert.Throws<ObjectDisposedException>(fun () -> Gradients.eot plan |> ignore) |> ignore
    Assert.Throws<ObjectDisposedException>(fun () -> plan.Materialise() |> ignore) |> ignore

[<Fact>]
let ``a plan solved on the caller's operator leaves that operator usable`` () =
    let p = clouds 5 8 8 2
    use operator = cpu.Prepare p
    let first = Sinkhorn.solveWith operator (tight (RelativeToMeanCost 0.2))
    (first :> IDisposable).Dispose()
    use second = Sinkhorn.solveWith operator (tight (RelativeToMeanCost 0.2))
    Assert.Equal<float[]>(first.F, second.F)
    Assert.True(second.Converged)

[<Fact>]
let ``the unregularised Hessian says it inverted every eigenvalue`` () =
    use plan = Sinkhorn.solve cpu (clouds 6 10 10 2) (tight (RelativeToMeanCost 0.2))
    let noReg = Hessian.compute plan { HessianOptions.Default with Method = NoRegularisation }
    Assert.Equal(FullEigen, noReg.Factorisation)
    Assert.Equal(TruncatedEigen, (Hessian.compute plan HessianOptions.Default).Factorisation)

[<Fact>]
let ``a solve counts its streamed passes: two an iteration and two to measure the returned plan`` () =
    let p = clouds 7 12 10 2
    use plain = Sinkhorn.solve cpu p (tight (RelativeToMeanCost 0.1))
    Assert.Equal(2 * plain.Iterations + 2, plain.Solution.Passes)
    use fromG = Sinkhorn.solve cpu p { tight (RelativeToMeanCost 0.1) with Start = Start.FromG plain.G }
    Assert.Equal(2 * fromG.Iterations + 3, fromG.Solution.Passes)
    use symmetric = Sinkhorn.solveSymmetric cpu (OtProblem.create p.X p.X None None) (tight (RelativeToMeanCost 0.1))
    Assert.Equal(symmetric.Iterations + 2, symmetric.Solution.Passes)
