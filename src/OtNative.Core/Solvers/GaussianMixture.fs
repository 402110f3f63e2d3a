namespace OtNative.Core

open System

/// A Gaussian mixture: component weights π (summing to one), means and covariances.
type GaussianMixture =
    { Weights: float[]
      Means: float[][]
      Covariances: Matrix[] }

/// Weighted Gaussian mixtures fitted by expectation–maximisation, the GMM initialiser's model of a cloud (math.md §6).
module GaussianMixture =
    /// The weighted mean (d) and covariance (d×d) of a cloud: one Gaussian's fit.
    let moments (z: Matrix) (w: float[]) =
        let d = z.Cols
        let mean = Dense.weightedMeanRow z w
        let cov = Matrix.Zeros(d, d)
        for i in 0 .. z.Rows - 1 do
            for a in 0 .. d - 1 do
                for b in 0 .. d - 1 do
                    cov.[a, b] <- cov.[a, b] + w.[i] * (z.[i, a] - mean.[a]) * (z.[i, b] - mean.[b])
        mean, cov

    /// A component's density in its eigenbasis: log N(z) = logScale − ½ Σ_k (v_kᵀ(z − μ))² / λ_k.
    type private ComponentDensity =
        { Mean: float[]
          Axes: Matrix
          Variances: float[]
          LogScale: float }

    let private densityOf (la: ILinearAlgebra) (mean: float[]) (cov: Matrix) =
        let variances, axes = la.SymmetricEigen cov
        let d = mean.Length
        { Mean = mean; Axes = axes; Variances = variances
          LogScale = -0.5 * (float d * log (2.0 * Math.PI) + Array.sumBy log variances) }

    let private logDensity (c: ComponentDensity) (z: Matrix) i =
        let d = c.Mean.Length
        let mutable quadratic = 0.0
        for k in 0 .. d - 1 do
            let mutable projection = 0.0
            for p in 0 .. d - 1 do projection <- projection + c.Axes.[p, k] * (z.[i, p] - c.Mean.[p])
            quadratic <- quadratic + projection * projection / c.Variances.[k]
        c.LogScale - 0.5 * quadratic

    /// Each point's posterior over the components (n×K, rows summing to one) and its log-likelihood under the mixture.
    let private posteriorsAndLikelihood (la: ILinearAlgebra) (model: GaussianMixture) (z: Matrix) =
        let densities = Array.map2 (densityOf la) model.Means model.Covariances
        let k = model.Weights.Length
        let posterior = Array2D.zeroCreate z.Rows k
        let logLikelihood = Array.zeroCreate z.Rows
        let logs = Array.zeroCreate k
        for i in 0 .. z.Rows - 1 do
            for c in 0 .. k - 1 do logs.[c] <- log model.Weights.[c] + logDensity densities.[c] z i
            let top = Array.max logs
            let total = logs |> Array.sumBy (fun l -> exp (l - top))
            logLikelihood.[i] <- top + log total
            for c in 0 .. k - 1 do posterior.[i, c] <- exp (logs.[c] - logLikelihood.[i])
        posterior, logLikelihood

    /// Each point's posterior over the mixture's components (n×K, rows summing to one).
    let posteriors (la: ILinearAlgebra) (model: GaussianMixture) (z: Matrix) = fst (posteriorsAndLikelihood la model z)

    /// The M-step: weights, means and covariances from the points' weights times their posteriors. A covariance gets
    /// `floor` added on its diagonal (a component on collinear or repeated points is otherwise singular); a component
    /// left without mass is dropped.
    let private maximise (z: Matrix) (w: float[]) (posterior: float[,]) (floor: float) =
        let n, d, k = z.Rows, z.Cols, Array2D.length2 posterior
        let mass = Array.zeroCreate k
        let sums = Array.init k (fun _ -> Array.zeroCreate d)
        for i in 0 .. n - 1 do
            for c in 0 .. k - 1 do
                let r = w.[i] * posterior.[i, c]
                mass.[c] <- mass.[c] + r
                for p in 0 .. d - 1 do sums.[c].[p] <- sums.[c].[p] + r * z.[i, p]
        let kept = [| for c in 0 .. k - 1 do if mass.[c] > 1e-12 then yield c |]
        let means = kept |> Array.map (fun c -> sums.[c] |> Array.map (fun v -> v / mass.[c]))
        let covariances = kept |> Array.map (fun _ -> Matrix.Zeros(d, d))
        let centred = Array.zeroCreate d
        for i in 0 .. n - 1 do
            for t in 0 .. kept.Length - 1 do
                let c = kept.[t]
                let r = w.[i] * posterior.[i, c] / mass.[c]
                let mean, cov = means.[t], covariances.[t]
                for p in 0 .. d - 1 do centred.[p] <- z.[i, p] - mean.[p]
                for p in 0 .. d - 1 do
                    for q in 0 .. d - 1 do
                        cov.[p, q] <- cov.[p, q] + r * centred.[p] * centred.[q]
        for cov in covariances do
            for p in 0 .. d - 1 do cov.[p, p] <- cov.[p, p] + floor
        let total = kept |> Array.sumBy (fun c -> mass.[c])
        { Weights = kept |> Array.map (fun c -> mass.[c] / total); Means = means; Covariances = covariances }

    /// k-means++ seeding by weight, from a seed fixed by the cloud's size and k (the same cloud fits the same way
    /// every time): each point's starting posterior is one on its nearest seed.
    let private seededPosteriors (z: Matrix) (w: float[]) (k: int) =
        let rng = Random(7919 * z.Rows + k)
        let squaredDistance i j =
            let mutable s = 0.0
            for p in 0 .. z.Cols - 1 do s <- s + (z.[i, p] - z.[j, p]) * (z.[i, p] - z.[j, p])
            s
        let draw (score: float[]) =
            let target = rng.NextDouble() * Array.sum score
            let mutable acc = 0.0
            let mutable chosen = score.Length - 1
            let mutable i = 0
            while i < score.Length do
                acc <- acc + score.[i]
                if acc >= target && score.[i] > 0.0 then
                    chosen <- i
                    i <- score.Length
                i <- i + 1
            chosen
        let seeds = Collections.Generic.List [ draw w ]
        let nearest = Array.init z.Rows (fun i -> squaredDistance i seeds.[0])
        while seeds.Count < k do
            let next = draw (Array.map2 (*) w nearest)
            seeds.Add next
            for i in 0 .. z.Rows - 1 do nearest.[i] <- min nearest.[i] (squaredDistance i next)
        let posterior = Array2D.zeroCreate z.Rows k
        for i in 0 .. z.Rows - 1 do
            let closest = seq { 0 .. k - 1 } |> Seq.minBy (fun c -> squaredDistance i seeds.[c])
            posterior.[i, closest] <- 1.0
        posterior

    /// EM iterations stop when the mean log-likelihood gains less than this (relative), or after `emIterations`: a
    /// starting potential needs the clusters, not the last digits of their shapes.
    let private emTolerance = 1e-5
    let private emIterations = 100

    /// A k-component mixture fitted by EM from k-means++ seeds, and its mean log-likelihood (weighted by w).
    let fitComponents (la: ILinearAlgebra) (z: Matrix) (w: float[]) (k: int) =
        let _, overall = moments z w
        let floor = 1e-6 * max (Dense.trace overall / float z.Cols) 1e-300
        let mutable model = maximise z w (seededPosteriors z w k) floor
        let likelihoodOf (perPoint: float[]) = Array.fold2 (fun s wi l -> s + wi * l) 0.0 w perPoint
        let mutable posterior, perPoint = posteriorsAndLikelihood la model z
        let mutable likelihood = likelihoodOf perPoint
        let mutable gain = infinity
        let mutable iteration = 0
        while iteration < emIterations && gain > emTolerance * (1.0 + abs likelihood) do
            model <- maximise z w posterior floor
            let next, nextPerPoint = posteriorsAndLikelihood la model z
            posterior <- next
            gain <- likelihoodOf nextPerPoint - likelihood
            likelihood <- likelihood + gain
            iteration <- iteration + 1
        model, likelihood

    /// The most components `fit` tries, and the points it wants per parameter of a component.
    let private largestMixture = 6
    let private pointsPerParameter = 5

    /// The mixture with 1 … 6 components whose Bayesian information criterion is lowest — −2 N L + p log N with N the
    /// weights' effective sample size 1/Σw² and p the free parameters — among those the cloud has at least five points
    /// per parameter for.
    let fit (la: ILinearAlgebra) (z: Matrix) (w: float[]) =
        let d = z.Cols
        let parameters k = (k - 1) + k * d + k * d * (d + 1) / 2
        let effective = 1.0 / Array.sumBy (fun v -> v * v) w
        let largest = max 1 (min largestMixture (int (effective / float (pointsPerParameter * parameters 1))))
        seq { 1 .. largest }
        |> Seq.map (fun k ->
            let model, likelihood = fitComponents la z w k
            model, -2.0 * effective * likelihood + float (parameters model.Weights.Length) * log effective)
        |> Seq.minBy snd
        |> fst
