namespace OtNative.Core

/// Dense float64 linear algebra. Every backend owns one (`IBackend.LinearAlgebra`): on the CPU native
/// LAPACK/BLAS or managed Math.NET, on CUDA cuBLAS/cuSOLVER, so dense work runs where the plan lives.
type ILinearAlgebra =
    /// A short description, e.g. `native (…)`, `managed (Math.NET Numerics)`, `cuBLAS/cuSOLVER`.
    abstract Name: string
    /// Symmetric eigen-decomposition: eigenvalues ascending and the eigenvectors as columns.
    abstract SymmetricEigen: a: Matrix -> float[] * Matrix
    /// op(A) op(B), op = transpose when the flag is set.
    abstract Multiply: a: Matrix * transposeA: bool * b: Matrix * transposeB: bool -> Matrix
    /// A Aᵀ, or Aᵀ A when `transposed` (full symmetric result).
    abstract Gram: a: Matrix * transposed: bool -> Matrix
    /// The lower Cholesky factor L (A = L Lᵀ) of a symmetric matrix, or None when it is not
    /// numerically positive definite.
    abstract CholeskyFactor: a: Matrix -> Matrix option
    /// L⁻¹ B for a lower-triangular L, or L⁻ᵀ B when `transposed`.
    abstract SolveLower: l: Matrix * b: Matrix * transposed: bool -> Matrix
    /// Solves A X = B for symmetric positive definite A; NotPositiveDefiniteException otherwise.
    abstract CholeskySolve: a: Matrix * b: Matrix -> Matrix

