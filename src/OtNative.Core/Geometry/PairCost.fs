namespace OtNative.Core

open System

/// A ground cost c(x, y) between two points other than the default squared Euclidean one (math.md §10), with its
/// derivatives in x for one pair: the general-cost gradient, Hessian-vector products and dense Hessian are built from
/// them (every formula of math.md §2–§3 is written through ∇c and ∇²c).
type IPairCost =
    /// The name diagnostics, the JSON output and the command line give it (`euclidean`, `pnorm:1.5`, or a user's).
    abstract Name: string
    /// c(x, y) for two points of d coordinates.
    abstract Value: x: ReadOnlySpan<float> * y: ReadOnlySpan<float> -> float
    /// ∇ₓc(x, y) written into `gradient` (d values).
    abstract Gradient: x: ReadOnlySpan<float> * y: ReadOnlySpan<float> * gradient: Span<float> -> unit
    /// ∇²ₓc(x, y) written into `hessian` (d × d, row-major).
    abstract Hessian: x: ReadOnlySpan<float> * y: ReadOnlySpan<float> * hessian: Span<float> -> unit
    /// costs[j] = c(x, y_j) for the targets y_j (`targets`: m × d, row-major): what a streamed pass asks for, once per
    /// row, so a cost may evaluate a whole row at once.
    abstract Row: x: ReadOnlySpan<float> * targets: ReadOnlySpan<float> * costs: Span<float> -> unit
    /// Whether c(x + t, y + t) = c(x, y) for every shift t (a function of x − y): the solvers may then centre the
    /// clouds, as they do for the squared Euclidean cost, before forming moments.
    abstract TranslationInvariant: bool
    /// Whether c(x, y) = c(y, x) for every pair: the debiased divergence and the symmetric (self-transport) solver need it.
    abstract Symmetric: bool

/// c(x, y) = ‖x − y‖ᵖ for p ≥ 1, p ≠ 2 (p = 2 is the squared Euclidean fast path): p = 1 is the Euclidean distance. The
/// CPU kernels recognise it and evaluate its rows as SIMD streams (a square root, or exp((p/2) log ‖x − y‖²)).
///
/// Its derivatives are ∇c = p‖δ‖^{p−2} δ and ∇²c = p‖δ‖^{p−2} (I + (p − 2) u uᵀ), δ = x − y, u = δ/‖δ‖. At coincident
/// points (δ = 0) the gradient is 0 — the limit for p > 1, the subgradient of least norm for p = 1 — and so is the
/// Hessian: the limit for p > 2; for 1 ≤ p < 2 the Hessian grows like ‖δ‖^{p−2} as the points approach and has no
/// limit, and 0 is the value the code takes there (math.md §10).
[<Sealed>]
type DistancePower(p: float) =
    do
        if not (p >= 1.0) || Double.IsInfinity p || p = 2.0 then
            raise (ArgumentException(sprintf "The exponent of a ‖x − y‖ᵖ cost must be finite and at least 1, and not 2 (the squared Euclidean cost); got %g." p, "p"))

    static let squaredDistance (x: ReadOnlySpan<float>) (y: ReadOnlySpan<float>) =
        let mutable s = 0.0
        for k in 0 .. x.Length - 1 do
            let t = x.[k] - y.[k]
            s <- s + t * t
        s

    /// ‖δ‖^{p−2} = s^{p/2 − 1} for s = ‖δ‖², 0 at coincident points (the convention above): the one power behind c, ∇c
    /// and ∇²c.
    let powerOf (s: float) = if s > 0.0 then (if p = 1.0 then 1.0 / sqrt s else Math.Pow(s, 0.5 * p - 1.0)) else 0.0

    /// The exponent p.
    member _.P = p

    /// c(x, y), with ∇ₓc/2 written into `half`, from one power t = ‖δ‖^{p−2} (c = ‖δ‖² t, ∇c = p t δ): the per-pair
    /// derivative passes call this for every pair, where `Value` and `Gradient` would take a power each.
    member _.ValueAndHalfGradient(x: ReadOnlySpan<float>, y: ReadOnlySpan<float>, half: Span<float>) =
        let s = squaredDistance x y
        let t = powerOf s
        for k in 0 .. x.Length - 1 do half.[k] <- 0.5 * p * t * (x.[k] - y.[k])
        s * t

    interface IPairCost with
        member _.Name = if p = 1.0 then "euclidean" else sprintf "pnorm:%s" (p.ToString("R", Globalization.CultureInfo.InvariantCulture))
        member _.Value(x, y) =
            let s = squaredDistance x y
            if p = 1.0 then sqrt s else Math.Pow(s, 0.5 * p)
        member _.Gradient(x, y, gradient) =
            let scale = p * powerOf (squaredDistance x y)
            for k in 0 .. x.Length - 1 do gradient.[k] <- scale * (x.[k] - y.[k])
        member _.Hessian(x, y, hessian) =
            let d = x.Length
            let s = squaredDistance x y
            let scale = p * powerOf s
            // u = δ/‖δ‖ formed first: (p − 2)/s would overflow for points closer than 1e-154.
            let inverseNorm = if s > 0.0 then 1.0 / sqrt s else 0.0
            for a in 0 .. d - 1 do
                for b in 0 .. d - 1 do
                    let uaub = (x.[a] - y.[a]) * inverseNorm * ((x.[b] - y.[b]) * inverseNorm)
                    hessian.[a * d + b] <- scale * ((if a = b then 1.0 else 0.0) + (p - 2.0) * uaub)
        member this.Row(x, targets, costs) =
            let d = x.Length
            for j in 0 .. costs.Length - 1 do
                costs.[j] <- (this :> IPairCost).Value(x, targets.Slice(j * d, d))
        member _.TranslationInvariant = true
        member _.Symmetric = true
