namespace OtNative.Applications

open System
open OtNative.Core

/// Seeded random data for the experiments (math.md §5): Gaussian mixtures, rotations, permutations,
/// and the shuffled-regression problems built from them. Deterministic under a seed.
module Synthetic =
    /// A standard normal draw (Box–Muller).
    let gaussian (rng: Random) =
        sqrt (-2.0 * log (1.0 - rng.NextDouble())) * cos (2.0 * Math.PI * rng.NextDouble())

    /// A matrix of independent N(0, std²) entries.
    let gaussianMatrix (rng: Random) rows cols std =
        Matrix(rows, cols, Array.init (rows * cols) (fun _ -> std * gaussian rng))

    /// n points uniform in the unit cube [0, 1]^d (the benchmarks' clouds).
    let uniformCube (rng: Random) n d = Matrix(n, d, Array.init (n * d) (fun _ -> rng.NextDouble()))

    /// A uniformly random permutation of 0 … n−1 (Fisher–Yates).
    let permutation (rng: Random) n =
        let p = Array.init n id
        for i in n - 1 .. -1 .. 1 do
            let j = rng.Next(i + 1)
            let t = p.[i]
            p.[i] <- p.[j]
            p.[j] <- t
        p

    /// The rows of m in the order given.
    let permuteRows (order: int[]) (m: Matrix) =
        Matrix(m.Rows, m.Cols, Array.init m.Data.Length (fun t -> m.[order.[t / m.Cols], t % m.Cols]))

    /// det A by Gaussian elimination with partial pivoting.
    let private determinant (a: Matrix) =
        let n = a.Rows
        let m = a.Copy()
        let mutable det = 1.0
        for c in 0 .. n - 1 do
            let pivot = [ c .. n - 1 ] |> List.maxBy (fun r -> abs m.[r, c])
            if pivot <> c then
                det <- -det
                for k in 0 .. n - 1 do
                    let t = m.[c, k]
                    m.[c, k] <- m.[pivot, k]
                    m.[pivot, k] <- t
            det <- det * m.[c, c]
            if m.[c, c] <> 0.0 then
                for r in c + 1 .. n - 1 do
                    let f = m.[r, c] / m.[c, c]
                    for k in c .. n - 1 do m.[r, k] <- m.[r, k] - f * m.[c, k]
        det

    /// A uniformly random rotation of R^d (Haar measure): Gram–Schmidt on a Gaussian matrix, with the
    /// sign fixed so that det = +1.
    let rotation (rng: Random) d =
        let q = gaussianMatrix rng d d 1.0
        for i in 0 .. d - 1 do
            for k in 0 .. i - 1 do
                let dot = Array.init d (fun c -> q.[i, c] * q.[k, c]) |> Array.sum
                for c in 0 .. d - 1 do q.[i, c] <- q.[i, c] - dot * q.[k, c]
            let norm = sqrt (Array.init d (fun c -> q.[i, c] * q.[i, c]) |> Array.sum)
            for c in 0 .. d - 1 do q.[i, c] <- q.[i, c] / norm
        if determinant q < 0.0 then
            for c in 0 .. d - 1 do q.[0, c] <- -q.[0, c]
        q

    /// n points from a mixture of clusters in R^p with the given standard deviations, equal shares, and
    /// centres uniform in [−1, 1]^p.
    let gaussianMixture (rng: Random) n p (stds: float[]) =
        let centres = stds |> Array.map (fun _ -> Array.init p (fun _ -> 2.0 * rng.NextDouble() - 1.0))
        Matrix(n, p, Array.init (n * p) (fun t ->
            let i, c = t / p, t % p
            let k = i * stds.Length / n
            centres.[k].[c] + stds.[k] * gaussian rng))

    /// A shuffled-regression problem Y = shuffle(X θ* + noise) with θ* ~ N(0, 1/p) and θ₀ = θ* + N(0, 1/p)
    /// (the paper draws both with unit variance; scaling by 1/√p keeps Y on X's scale, so that ε = 0.05
    /// is a few percent of the mean cost rather than 0.2 % of it, where every Sinkhorn solve would need
    /// ~10⁴ iterations).
    let regressionProblem (rng: Random) (design: Matrix) dY noise =
        let scale = 1.0 / sqrt (float design.Cols)
        let thetaStar = gaussianMatrix rng design.Cols dY scale
        let clean = Dense.times design thetaStar
        let noisy = Matrix(clean.Rows, dY, Array.map (fun v -> v + noise * gaussian rng) clean.Data)
        let targets = permuteRows (permutation rng clean.Rows) noisy
        let theta0 = Matrix(design.Cols, dY, Array.map (fun v -> v + scale * gaussian rng) thetaStar.Data)
        { Design = design; Targets = targets; DesignWeights = None; TargetWeights = None; TrueParameters = Some thetaStar }, theta0

    /// The paper's Gaussian-mixture setting (math.md §5): n points in R^dX from three clusters with standard
    /// deviations 0.3, 0.05, 0.6, mapped to R^dY, noise std 0.2.
    let gaussianMixtureRegression seed n dX dY =
        let rng = Random(seed)
        regressionProblem rng (gaussianMixture rng n dX [| 0.3; 0.05; 0.6 |]) dY 0.2

    /// Registration: Y = shuffle(s · X Qᵀ + noise) for a random rotation Q; θ* = s Qᵀ (rows are points)
    /// and θ₀ = θ* + N(0, startStd²) per entry.
    let registrationProblem (rng: Random) (source: Matrix) (scale: float) (noise: float) (startStd: float) =
        let d = source.Cols
        let q = rotation rng d
        let thetaStar = Matrix(d, d, Array.init (d * d) (fun t -> scale * q.[t % d, t / d]))
        let moved = Dense.times source thetaStar
        let noisy = Matrix(moved.Rows, d, Array.map (fun v -> v + noise * gaussian rng) moved.Data)
        let targets = permuteRows (permutation rng moved.Rows) noisy
        { Design = source; Targets = targets; DesignWeights = None; TargetWeights = None; TrueParameters = Some thetaStar },
        Matrix(d, d, Array.map (fun v -> v + startStd * gaussian rng) thetaStar.Data)

    /// Registration with a rotation + scale model: φ* = (log s, ω*) with a uniformly random axis and an angle
    /// uniform in [0, π), θ* = `ParameterMap.rotationScale`(φ*), and φ₀ = φ* + N(0, startStd²) per entry.
    let registrationRotationScale (rng: Random) (source: Matrix) (scale: float) (noise: float) (startStd: float) =
        let axis = Array.init 3 (fun _ -> gaussian rng)
        let norm = sqrt (Array.sumBy (fun v -> v * v) axis)
        let angle = Math.PI * rng.NextDouble()
        let phiStar = Array.append [| log scale |] (axis |> Array.map (fun v -> angle * v / norm))
        let map = ParameterMap.rotationScale
        let thetaStar = map.ToTheta phiStar
        let moved = Dense.times source thetaStar
        let noisy = Matrix(moved.Rows, 3, Array.map (fun v -> v + noise * gaussian rng) moved.Data)
        let targets = permuteRows (permutation rng moved.Rows) noisy
        { Design = source; Targets = targets; DesignWeights = None; TargetWeights = None; TrueParameters = Some thetaStar },
        Array.map (fun v -> v + startStd * gaussian rng) phiStar
