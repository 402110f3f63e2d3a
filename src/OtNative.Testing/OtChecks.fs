namespace OtNative.Testing

open System
open System.Runtime.InteropServices
open FsCheck
open FsCheck.FSharp
open OtNative

/// The outcome of one identity check. `Applicable` is false for a draw the identity does not cover (a solve
/// that did not converge, a numerically degenerate plan): a property should discard such draws, not pass them.
[<Sealed>]
type CheckResult(name: string, holds: bool, applicable: bool, error: float, tolerance: float, details: string) =
    member _.Name = name
    /// The identity held to the tolerance (false when not applicable).
    member _.Holds = applicable && holds
    member _.Applicable = applicable
    /// The measured error (relative unless the check says otherwise).
    member _.Error = error
    member _.Tolerance = tolerance
    /// The sample and the numbers, for a failure message.
    member _.Details = details
    /// As an FsCheck property: discarded when not applicable, labelled with the details.
    member this.ToProperty() : Property =
        Prop.filter applicable (Prop.label details (Prop.ofTestable holds))
    override _.ToString() =
        sprintf "%s: %s (error %.3g, tolerance %.3g) — %s" name (if not applicable then "not applicable" elif holds then "holds" else "FAILS") error tolerance details

/// The identities OtNative is tested with (docs/math.md §7), as checks on a sample: each solves what it needs,
/// measures the error against an independent reference and returns a CheckResult.
[<AbstractClass; Sealed>]
type OtChecks =
    static let tolerance = 1e-12
    static let solve (sample: ProblemSample) (x: float[,]) (y: float[,]) (options: SinkhornOptions) =
        EntropicOT.Solve(x, y, sample.A, sample.B, options)
    /// Tight options at a solution's absolute ε, warm-started from `initialF` (none when null), for nearby re-solves.
    static let tightAt (r: SinkhornResult) (initialF: System.Collections.Generic.IReadOnlyList<float>) =
        SinkhornOptions(Epsilon = r.Epsilon, EpsilonRelative = false, Tolerance = tolerance, MaxIterations = 200_000, InitialF = initialF,
                        Solver = SinkhornSolver.SinkhornThenLbfgs, AllowUnconverged = true)
    static let warmFrom (r: SinkhornResult) = tightAt r r.F
    static let result name (sample: ProblemSample) holds applicable error limit extra =
        CheckResult(name, holds, applicable, error, limit, sprintf "%O: error %.3g%s" sample error extra)

    /// Theorem 1: ∂L_ε/∂x equals central finite differences of L_ε (step 1e-5, warm-started solves).
    static member Gradient(sample: ProblemSample, [<Optional; DefaultParameterValue(1e-6)>] limit: float) =
        use r = solve sample sample.X sample.Y (sample.Options tolerance)
        let warm = warmFrom r
        let fd = FiniteDifferences.Gradient(Func<_, _>(fun x -> (use s = solve sample x sample.Y warm in s.Value)), sample.X, 1e-5)
        let error = FiniteDifferences.RelativeError(r.Gradient(), fd)
        result "gradient vs finite differences" sample (error < limit) r.Converged error limit ""

    /// The Hessian-vector product equals central finite differences of the gradient along the direction.
    static member HessianVectorProduct(sample: ProblemSample, direction: float[,], [<Optional; DefaultParameterValue(1e-5)>] limit: float) =
        use r = solve sample sample.X sample.Y (sample.Options tolerance)
        let warm = warmFrom r
        let hv = r.HessianVectorProduct direction
        let fd = FiniteDifferences.Directional(Func<_, _>(fun x -> (use s = solve sample x sample.Y warm in s.Gradient())), sample.X, direction, 1e-5)
        let error = FiniteDifferences.RelativeError(hv, fd)
        result "HVP vs finite differences" sample (error < limit) r.Converged error limit ""

    /// With the plan's own row mass r, Σ_l Hess[k,:,l,:] = 2 r_k I for any plan (docs/math.md §3), to rounding.
    /// Not applicable when the truncation removes a genuine tiny eigenvalue besides the null one (a degenerate plan).
    static member MarginalIdentity(sample: ProblemSample, [<Optional; DefaultParameterValue(1e-11)>] limit: float) =
        use r = solve sample sample.X sample.Y (sample.Options 1e-6)
        let hessian = r.Hessian(HessianMethod.Schur)
        let plan = r.Plan()
        let n, d = sample.N, sample.Dimension
        let h = hessian.Matrix
        let mutable total = 0.0
        let mutable scale = 1.0
        for k in 0 .. n - 1 do
            let rowMass = Seq.sum (seq { for j in 0 .. sample.M - 1 -> plan.[k, j] })
            for a in 0 .. d - 1 do
                for b in 0 .. d - 1 do
                    let s = Seq.sum (seq { for l in 0 .. n - 1 -> h.[k * d + a, l * d + b] })
                    total <- total + (s - (if a = b then 2.0 * rowMass else 0.0)) ** 2.0
        h |> Array2D.iter (fun v -> scale <- max scale (1.0 + abs v))
        let error = sqrt total / scale
        result "Hessian marginal identity" sample (error < limit) (hessian.Dropped = 1) error limit (sprintf " (%d eigenvalues dropped)" hessian.Dropped)

    /// Theorem 5: the H-matrix of a positive plan has a simple zero eigenvalue. Not applicable to a plan that is
    /// numerically block-disconnected (entries below 1e-12 × the largest), which genuinely has more: about a quarter
    /// of small Gaussian problems from ε = 0.02 × mean cost, none from 0.3 — draw ε from there.
    static member HMatrixKernel(sample: ProblemSample) =
        use r = solve sample sample.X sample.Y (sample.Options tolerance)
        let plan = r.Plan()
        let entries = Seq.cast<float> plan |> Array.ofSeq
        let positive = Array.min entries > 1e-12 * Array.max entries
        let spectrum = r.Spectrum()
        let largest = spectrum.Eigenvalues.[spectrum.Eigenvalues.Count - 1]
        let zero = abs spectrum.Eigenvalues.[0]
        let simple = sample.N + sample.M = 2 || spectrum.SmallestPositive > 1e-13 * largest
        result "H-matrix kernel is simple" sample (zero < 1e-13 && simple) positive zero 1e-13
            (sprintf " (λ₁ = %.3g, λ₂ = %.3g, λmax = %.3g)" spectrum.Eigenvalues.[0] spectrum.SmallestPositive largest)

    /// L_ε(x + t, y + t) = L_ε(x, y) and the gradient does not move, for a common shift t.
    static member TranslationInvariance(sample: ProblemSample, offset: float[], [<Optional; DefaultParameterValue(1e-9)>] limit: float) =
        if isNull offset || offset.Length <> sample.Dimension then invalidArg "offset" "the offset needs one entry per coordinate."
        let shift (z: float[,]) = Array2D.init (Array2D.length1 z) (Array2D.length2 z) (fun i k -> z.[i, k] + offset.[k])
        use r = solve sample sample.X sample.Y (sample.Options tolerance)
        use moved = solve sample (shift sample.X) (shift sample.Y) (tightAt r null)
        let valueError = abs (moved.Value - r.Value) / (1.0 + abs r.Value)
        let gradientError = FiniteDifferences.RelativeError(moved.Gradient(), r.Gradient())
        let error = max valueError gradientError
        result "translation invariance" sample (error < limit) (r.Converged && moved.Converged) error limit ""
