module OtNative.Core.Tests.BlockCgTests

open System
open Xunit
open OtNative.Core
open OtNative.Core.Tests.Reference

/// A random symmetric positive definite matrix with condition number about `spread`.
let private spd (rng: Random) size spread =
    // The eigenvectors of a random symmetric matrix are a random orthogonal basis.
    let vectors = snd (LinearAlgebraProviders.managed.SymmetricEigen(let a = cloud rng size size in Dense.times a (a.Transpose())))
    let lambda = Array.init size (fun i -> spread ** (float i / float (size - 1)))
    Matrix(size, size, Array.init (size * size) (fun t ->
        let i, j = t / size, t % size
        Array.sum (Array.init size (fun k -> vectors.[i, k] * lambda.[k] * vectors.[j, k]))))

let private applyDense (a: Matrix) (cols: float[][]) =
    cols |> Array.map (fun v -> (Dense.times a (Matrix.Column v)).Data)

[<Fact>]
let ``block CG solves every column to its tolerance and matches a Cholesky solve`` () =
    let rng = Random 11
    let size = 30
    let a = spd rng size 1e3
    let rhs = Array.init 4 (fun c -> if c = 2 then Array.zeroCreate size else Array.init size (fun _ -> gaussian rng))
    let result = BlockCg.solve (applyDense a) (Array.map Array.copy) ignore rhs (Array.zeroCreate 4) 1e-12 500 Threading.CancellationToken.None
    let b = Matrix(size, 4, Array.init (size * 4) (fun t -> rhs.[t % 4].[t / 4]))
    let exact = LinearAlgebraProviders.managed.CholeskySolve(a, b)
    for c in 0 .. 3 do
        let expected = Array.init size (fun i -> exact.[i, c])
        if c = 2 then Assert.Equal<float[]>(Array.zeroCreate size, result.Solutions.[c])
        else Assert.True(relativeError result.Solutions.[c] expected < 1e-9, sprintf "column %d: %g" c (relativeError result.Solutions.[c] expected))
    Assert.Equal(0, result.Iterations.[2])
    Assert.True((result.Report 1e-12).Converged)
    // CG on an n×n SPD matrix needs at most n steps in exact arithmetic; rounding may add a few.
    Assert.True(Array.max result.Iterations <= 2 * size, sprintf "iterations %A" result.Iterations)

[<Fact>]
let ``block CG stops a column at negative curvature and reports it unconverged`` () =
    let a = Matrix(2, 2, [| 1.0; 0.0; 0.0; -1.0 |])
    let result = BlockCg.solve (applyDense a) (Array.map Array.copy) ignore [| [| 1.0; 1.0 |] |] [| 0.0 |] 1e-10 100 Threading.CancellationToken.None
    Assert.True(Array.forall Double.IsFinite result.Solutions.[0])
    let report = result.Report 1e-10
    Assert.False(report.Converged)
    Assert.True(report.Residual > 1e-10)

[<Fact>]
let ``block CG caps iterations and reports the residual it reached`` () =
    let rng = Random 12
    let a = spd rng 40 1e6
    let result = BlockCg.solve (applyDense a) (Array.map Array.copy) ignore [| Array.init 40 (fun _ -> gaussian rng) |] [| 0.0 |] 1e-14 3 Threading.CancellationToken.None
    let report = result.Report 1e-14
    Assert.Equal(3, report.Iterations)
    Assert.False(report.Converged)
