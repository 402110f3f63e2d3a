/// Vectorised elementary functions for the hot loops, generic over the register width. .NET's own Vector.Exp costs
/// ~2.5 ns per element here; this one well under half that at the same accuracy.
module OtNative.Core.SimdMath

open System

// Constants are written in place: splats of literals compile to vector constants inside the caller's loop (the
// function is inline), where module-level statics would be loads.
// Cody–Waite ln 2 split (k·ln2Hi exact for |k| < 2^11); 1.5·2^52 rounds to the nearest integer and
// leaves it in the low mantissa bits; Taylor coefficients 1/k! for k = 12 … 2 (|r| ≤ ln2/2 makes the
// degree-12 remainder < 2e-17).
// MinNative/MaxNative are single instructions; the IEEE Min/Max (NaN and signed-zero handling) cost
// ten each. x86's min/max return their second operand when either is NaN, so x goes second: a NaN input
// stays NaN through the clamp and comes out NaN (ARM's propagate NaN anyway), never a silent finite value.
// The polynomial is evaluated as 1 + r + r²·h(r) with h by Estrin's scheme: the dependency chain is half
// Horner's, so more exponentials overlap in the pipeline, and the last two steps (where the rounding
// that matters happens) are the same as Horner's.

/// e^x lane-wise, ≤ 2 ulp on [−708, 709], for a term of a sum: below −708 (and at −∞, the padding lanes) it
/// returns e^−708 ≈ 3e-308 instead of 0, which no sum the kernels accept notices (they are at least 1e-250, and a
/// row adds at most m of them), and saves the select that `exp` pays. Above 709 it saturates at e^709; NaN gives NaN.
let inline expOfTerm<'V when 'V :> ILanes<'V>> (x: 'V) =
    let xc = 'V.MinNative('V.Splat 709.0, 'V.MaxNative('V.Splat -708.0, x))
    let shifted = 'V.Fma(xc, 'V.Splat 1.4426950408889634, 'V.Splat 6755399441055744.0)
    let k = shifted - 'V.Splat 6755399441055744.0
    let r = 'V.Fma(k, 'V.Splat -1.90821492927058770002e-10, 'V.Fma(k, 'V.Splat -6.93147180369123816490e-01, xc))
    let r2 = r * r
    let r4 = r2 * r2
    let c45 = 'V.Fma(r, 'V.Splat 8.33333333333333333333e-03, 'V.Splat 4.16666666666666666667e-02)
    let c67 = 'V.Fma(r, 'V.Splat 1.98412698412698412698e-04, 'V.Splat 1.38888888888888888889e-03)
    let c89 = 'V.Fma(r, 'V.Splat 2.75573192239858906526e-06, 'V.Splat 2.48015873015873015873e-05)
    let c1011 = 'V.Fma(r, 'V.Splat 2.50521083854417187751e-08, 'V.Splat 2.75573192239858906526e-07)
    let c812 = 'V.Fma('V.Fma(r2, 'V.Splat 2.08767569878680989792e-09, c1011), r2, c89)
    let c412 = 'V.Fma(c812, r4, 'V.Fma(c67, r2, c45))
    let h = 'V.Fma(c412, r2, 'V.Fma(r, 'V.Splat 1.66666666666666666667e-01, 'V.Splat 0.5))
    let p = 'V.Fma(h, r2, r) + 'V.Splat 1.0
    p * 'V.Pow2OfRounded shifted

/// e^x lane-wise, ≤ 2 ulp on [−708, 709]. Below −708 (and at −∞, the padding lanes) it returns 0.
/// Above 709 it saturates at e^709; NaN gives NaN.
let inline exp<'V when 'V :> ILanes<'V>> (x: 'V) = 'V.ZeroBelow(x, 'V.Splat -708.0, expOfTerm x)

/// Nanoseconds per element of `exp` at this width on one core (an L1-resident array, best of several passes): the
/// unit of the CPU benchmarks' hardware-limit estimates, measured on the machine they run on. It is timed here, beside
/// `exp`, because the inline exponential is only inlined into F#: a C# benchmark calling it runs F#'s generic fallback
/// (7.45 ns an element measured, against 0.47).
let private nanosecondsPerExpAt<'V when 'V :> ILanes<'V> and 'V: struct> () =
    let input = Array.init 256 (fun i -> -0.01 * float i)
    let passes = 4000
    let mutable best = infinity
    let mutable sink = 'V.Splat 0.0
    for _ in 1 .. 7 do
        let sw = System.Diagnostics.Stopwatch.StartNew()
        for _ in 1 .. passes do
            let mutable j = 0
            while j < input.Length do
                sink <- sink + exp ('V.Load(input, j))
                j <- j + 'V.Count
        best <- min best (sw.Elapsed.TotalMilliseconds * 1e6 / float (passes * input.Length))
    if 'V.Sum sink < 0.0 then nan else best

/// Nanoseconds per element of `exp` at `width` on one core.
let nanosecondsPerExp (width: SimdWidth) =
    Simd.run width { new IWidthGeneric<float> with member _.Invoke<'V when 'V :> ILanes<'V> and 'V: struct>() = nanosecondsPerExpAt<'V> () }

/// Σ_{k ≥ lo} w_k |e^((u_k − v_k)·scale) − 1| in scalars.
let private weightedDeviationFrom (lo: int) (w: float[]) (u: float[]) (v: float[]) (scale: float) =
    let mutable t = 0.0
    for k in lo .. w.Length - 1 do t <- t + w.[k] * abs (Math.Exp((u.[k] - v.[k]) * scale) - 1.0)
    t

let private weightedDeviationAt<'V when 'V :> ILanes<'V> and 'V: struct> (w: float[]) (u: float[]) (v: float[]) (scale: float) =
    let n = w.Length
    let whole = n - n % 'V.Count
    let s: 'V = 'V.Splat scale
    let one: 'V = 'V.Splat 1.0
    let zero: 'V = 'V.Splat 0.0
    let mutable acc: 'V = zero
    let mutable largest: 'V = 'V.Splat Double.NegativeInfinity
    let mutable i = 0
    while i < whole do
        let diff: 'V = 'V.Load(u, i) - 'V.Load(v, i)
        let d: 'V = diff * s
        let e: 'V = exp d - one
        // |e| as max(e, −e); a NaN e stays NaN (the second operand).
        acc <- 'V.Fma('V.Load(w, i), 'V.MaxNative(zero - e, e), acc)
        largest <- 'V.MaxNative(d, largest)
        i <- i + 'V.Count
    let total = 'V.Sum acc + weightedDeviationFrom whole w u v scale
    // The vector exponential saturates at e^709 where Math.Exp overflows to ∞: a row past that (or a NaN sum) is redone
    // in scalars, so an overflowing error is ∞ as before, never a large finite number, whatever its weight.
    if total < 1e300 && 'V.MaxLane(largest) <= 709.0 then total else weightedDeviationFrom 0 w u v scale

let private weightedDeviationKernel =
    PerWidth
        { new IWidthGeneric<Func<float[], float[], float[], float, float>> with
            member _.Invoke<'V when 'V :> ILanes<'V> and 'V: struct>() =
                Func<_, _, _, _, _>(fun w u v scale -> weightedDeviationAt<'V> w u v scale) }

/// Σ_i w_i |e^((u_i − v_i)·scale) − 1| over arrays of one length, vectorised at `width`: the Sinkhorn loop's
/// row-marginal error, every iteration (in small problems n scalar exponentials an iteration were 4 % of it).
let weightedDeviation (width: SimdWidth) (w: float[]) (u: float[]) (v: float[]) (scale: float) =
    if u.Length <> w.Length || v.Length <> w.Length then
        invalidArg "u" (sprintf "weightedDeviation needs arrays of one length (%d, %d, %d)." w.Length u.Length v.Length)
    weightedDeviationKernel.At(width).Invoke(w, u, v, scale)
