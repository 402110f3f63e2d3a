namespace OtNative.Core

open OtNative
open System
open MathNet.Numerics.LinearAlgebra

/// Math.NET Numerics' managed algorithms: always available, slower.
[<Sealed>]
type ManagedLinearAlgebra() =
    static let toMathNet (m: Matrix) = Matrix<float>.Build.DenseOfRowMajor(m.Rows, m.Cols, m.Data)
    static let ofMathNet (m: Matrix<float>) = Matrix(m.RowCount, m.ColumnCount, m.ToRowMajorArray())

    interface ILinearAlgebra with
        member _.Name = "managed (Math.NET Numerics)"

        member _.SymmetricEigen a =
            let evd = (toMathNet a).Evd(Symmetricity.Symmetric)
            let values = evd.EigenValues.Map(fun c -> c.Real).ToArray()
            let order = Array.init values.Length id |> Array.sortBy (fun i -> values.[i])
            let vectors = evd.EigenVectors
            let sorted = Matrix<float>.Build.Dense(a.Rows, a.Rows, fun i j -> vectors.[i, order.[j]])
            Array.map (fun i -> values.[i]) order, ofMathNet sorted

        member _.Multiply(a, ta, b, tb) =
            let ma, mb = toMathNet a, toMathNet b
            let ma = if ta then ma.Transpose() else ma
            let mb = if tb then mb.Transpose() else mb
            ofMathNet (ma * mb)

        member _.Gram(a, transposed) =
            let m = toMathNet a
            ofMathNet (if transposed then m.TransposeThisAndMultiply m else m.TransposeAndMultiply m)

        member _.CholeskyFactor a =
            try Some(ofMathNet ((toMathNet a).Cholesky().Factor))
            with :? ArgumentException -> None

        member _.SolveLower(l, b, transposed) =
            // Substitution row by row (row-major: each step is a contiguous axpy); Lᵀ runs backwards.
            let n, k = b.Rows, b.Cols
            let x = Array.copy b.Data
            let order = if transposed then [| n - 1 .. -1 .. 0 |] else [| 0 .. n - 1 |]
            for i in order do
                let earlier = if transposed then [| i + 1 .. n - 1 |] else [| 0 .. i - 1 |]
                for t in earlier do
                    let lit = if transposed then l.Data.[t * n + i] else l.Data.[i * n + t]
                    if lit <> 0.0 then
                        for c in 0 .. k - 1 do x.[i * k + c] <- x.[i * k + c] - lit * x.[t * k + c]
                let inv = 1.0 / l.Data.[i * n + i]
                for c in 0 .. k - 1 do x.[i * k + c] <- x.[i * k + c] * inv
            Matrix(n, k, x)

        member _.CholeskySolve(a, b) =
            try ofMathNet ((toMathNet a).Cholesky().Solve(toMathNet b))
            with :? ArgumentException as e -> raise (NotPositiveDefiniteException("The matrix is not positive definite: " + e.Message))

