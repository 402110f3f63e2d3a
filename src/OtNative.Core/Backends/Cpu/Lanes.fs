namespace OtNative.Core

open System
open System.Runtime.CompilerServices
open System.Runtime.InteropServices
open System.Runtime.Intrinsics

/// One SIMD register of float64 lanes at a fixed width: the operations the streamed kernels are written in. A kernel
/// generic over 'V is compiled by the JIT once per width it is instantiated with (the lanes types are structs), and
/// every member below inlines to one or two instructions, so the generic kernel is the hand-written one at each width.
/// Loads and stores are unchecked: the layouts pad every streamed array to whole registers (CpuKernels).
type ILanes<'V when 'V :> ILanes<'V>> =
    /// float64 lanes in one register.
    static abstract Count: int
    /// Every lane set to the value.
    static abstract Splat: float -> 'V
    /// The lanes at a[j …], unchecked.
    static abstract Load: float[] * int -> 'V
    /// Writes the lanes to a[j …], unchecked.
    static abstract Store: 'V * float[] * int -> unit
    /// Lane-wise sum.
    static abstract (+): 'V * 'V -> 'V
    /// Lane-wise difference.
    static abstract (-): 'V * 'V -> 'V
    /// Lane-wise product.
    static abstract (*): 'V * 'V -> 'V
    /// a·b + c, fused.
    static abstract Fma: 'V * 'V * 'V -> 'V
    /// The hardware's min and max: when either lane is NaN they return the second operand's lane.
    static abstract MinNative: 'V * 'V -> 'V
    static abstract MaxNative: 'V * 'V -> 'V
    /// The sum of the lanes.
    static abstract Sum: 'V -> float
    /// Lane-wise square root, correctly rounded (the Euclidean cost's kernels).
    static abstract Sqrt: 'V -> 'V
    /// Lane-wise natural logarithm (the runtime's vectorised one: log 0 = −∞), for the ‖x − y‖ᵖ cost's kernels.
    static abstract Log: 'V -> 'V
    /// The largest lane; NaN when any lane is NaN.
    static abstract MaxLane: 'V -> float
    /// 2^k lane-wise from `shifted`, a value that the 1.5·2^52 rounding trick left holding the integer k in its low
    /// mantissa bits (SimdMath.exp).
    static abstract Pow2OfRounded: 'V -> 'V
    /// value where x ≥ limit, 0 where x < limit (lane-wise; NaN x keeps value).
    static abstract ZeroBelow: x: 'V * limit: 'V * value: 'V -> 'V
    /// SingleMath.expOfTerm of the lanes of a and b, both rounded to float32 and exponentiated in one register of float32
    /// lanes of this width (twice the lanes), the results widened back: the mixed-precision sweeps' exponential.
    static abstract ExpOfTermsInSingle: a: 'V * b: 'V -> struct ('V * 'V)

/// One SIMD register of float32 lanes: what the single-precision exponential of the mixed-precision sweeps is written
/// in (`SingleMath.expOfTerm`), one implementation for every width like `ILanes`.
type ISingleLanes<'W when 'W :> ISingleLanes<'W>> =
    /// Every lane set to the value.
    static abstract Splat: float32 -> 'W
    /// Lane-wise sum.
    static abstract (+): 'W * 'W -> 'W
    /// Lane-wise difference.
    static abstract (-): 'W * 'W -> 'W
    /// Lane-wise product.
    static abstract (*): 'W * 'W -> 'W
    /// a·b + c, fused.
    static abstract Fma: 'W * 'W * 'W -> 'W
    /// The hardware's min and max (the second operand's lane when either is NaN).
    static abstract MinNative: 'W * 'W -> 'W
    static abstract MaxNative: 'W * 'W -> 'W
    /// 2^k lane-wise from a value that the 1.5·2^23 rounding trick left holding k in its low mantissa bits.
    static abstract Pow2OfRounded: 'W -> 'W

/// Exponent-field arithmetic of float32: 2^k = (k + 127) << 23, k read from the low bits of 1.5·2^23 + k.
module internal SingleBits =
    [<Literal>]
    let RoundingBias = 0x4B400000

    [<Literal>]
    let ExponentBias = 127

/// The float32 exponential of the mixed-precision sweeps, generic over the width.
module SingleMath =
    // Cody–Waite split of ln 2 for float32 (0.693359375 is exact in 9 bits); 1.5·2^23 rounds to the nearest integer;
    // Taylor coefficients to degree 6 (|r| ≤ ln2/2 leaves a remainder of at most 1.7e-7 relative, at r = −ln2/2, about
    // one and a half float32 ulp: the rounding of the argument to float32, 2⁻²⁴|x|, is the larger error for |x| > 3).
    /// e^x lane-wise in float32 for a term of a float64 sum: within about 2 ulp of float32 on [−87.3, 88]. Below −87.3
    /// (where float32's normal numbers end) it returns e^−87.3 ≈ 1.2e-38 instead of 0 — a sum kept only above 1e-20
    /// does not notice m of them — and saves the select; above 88 it saturates at e^88; NaN gives NaN.
    let inline expOfTerm<'W when 'W :> ISingleLanes<'W>> (x: 'W) =
        let xc = 'W.MinNative('W.Splat 88.0f, 'W.MaxNative('W.Splat -87.3f, x))
        let shifted = 'W.Fma(xc, 'W.Splat 1.44269504f, 'W.Splat 12582912.0f)
        let k = shifted - 'W.Splat 12582912.0f
        let r = 'W.Fma(k, 'W.Splat 2.12194440e-4f, 'W.Fma(k, 'W.Splat -0.693359375f, xc))
        let h = 'W.Fma('W.Fma('W.Fma('W.Fma(r, 'W.Splat 1.38888889e-3f, 'W.Splat 8.33333333e-3f), r, 'W.Splat 4.16666667e-2f), r,
                       'W.Splat 1.66666667e-1f), r, 'W.Splat 0.5f)
        let p = 'W.Fma(h * r, r, r) + 'W.Splat 1.0f
        p * 'W.Pow2OfRounded shifted

/// The float32 partners of the double lanes types, one register of the same width each.
[<Struct; IsReadOnly>]
type SingleLanes512 =
    val V: Vector512<float32>
    new(v) = { V = v }
    interface ISingleLanes<SingleLanes512> with
        [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
        static member Splat x = SingleLanes512(Vector512.Create x)
        [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
        static member (+)(a: SingleLanes512, b: SingleLanes512) = SingleLanes512(a.V + b.V)
        [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
        static member (-)(a: SingleLanes512, b: SingleLanes512) = SingleLanes512(a.V - b.V)
        [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
        static member (*)(a: SingleLanes512, b: SingleLanes512) = SingleLanes512(a.V * b.V)
        [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
        static member Fma(a, b, c) = SingleLanes512(Vector512.FusedMultiplyAdd(a.V, b.V, c.V))
        [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
        static member MinNative(a, b) = SingleLanes512(Vector512.MinNative(a.V, b.V))
        [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
        static member MaxNative(a, b) = SingleLanes512(Vector512.MaxNative(a.V, b.V))
        [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
        static member Pow2OfRounded shifted =
            let k = Vector512.AsInt32 shifted.V - Vector512.Create SingleBits.RoundingBias
            SingleLanes512(Vector512.AsSingle(Vector512.ShiftLeft(k + Vector512.Create SingleBits.ExponentBias, 23)))

[<Struct; IsReadOnly>]
type SingleLanes256 =
    val V: Vector256<float32>
    new(v) = { V = v }
    interface ISingleLanes<SingleLanes256> with
        [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
        static member Splat x = SingleLanes256(Vector256.Create x)
        [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
        static member (+)(a: SingleLanes256, b: SingleLanes256) = SingleLanes256(a.V + b.V)
        [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
        static member (-)(a: SingleLanes256, b: SingleLanes256) = SingleLanes256(a.V - b.V)
        [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
        static member (*)(a: SingleLanes256, b: SingleLanes256) = SingleLanes256(a.V * b.V)
        [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
        static member Fma(a, b, c) = SingleLanes256(Vector256.FusedMultiplyAdd(a.V, b.V, c.V))
        [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
        static member MinNative(a, b) = SingleLanes256(Vector256.MinNative(a.V, b.V))
        [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
        static member MaxNative(a, b) = SingleLanes256(Vector256.MaxNative(a.V, b.V))
        [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
        static member Pow2OfRounded shifted =
            let k = Vector256.AsInt32 shifted.V - Vector256.Create SingleBits.RoundingBias
            SingleLanes256(Vector256.AsSingle(Vector256.ShiftLeft(k + Vector256.Create SingleBits.ExponentBias, 23)))

[<Struct; IsReadOnly>]
type SingleLanes128 =
    val V: Vector128<float32>
    new(v) = { V = v }
    interface ISingleLanes<SingleLanes128> with
        [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
        static member Splat x = SingleLanes128(Vector128.Create x)
        [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
        static member (+)(a: SingleLanes128, b: SingleLanes128) = SingleLanes128(a.V + b.V)
        [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
        static member (-)(a: SingleLanes128, b: SingleLanes128) = SingleLanes128(a.V - b.V)
        [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
        static member (*)(a: SingleLanes128, b: SingleLanes128) = SingleLanes128(a.V * b.V)
        [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
        static member Fma(a, b, c) = SingleLanes128(Vector128.FusedMultiplyAdd(a.V, b.V, c.V))
        [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
        static member MinNative(a, b) = SingleLanes128(Vector128.MinNative(a.V, b.V))
        [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
        static member MaxNative(a, b) = SingleLanes128(Vector128.MaxNative(a.V, b.V))
        [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
        static member Pow2OfRounded shifted =
            let k = Vector128.AsInt32 shifted.V - Vector128.Create SingleBits.RoundingBias
            SingleLanes128(Vector128.AsSingle(Vector128.ShiftLeft(k + Vector128.Create SingleBits.ExponentBias, 23)))

/// One float32 lane: the scalar width's partner.
[<Struct; IsReadOnly>]
type SingleLane1 =
    val V: float32
    new(v) = { V = v }
    interface ISingleLanes<SingleLane1> with
        static member Splat x = SingleLane1 x
        static member (+)(a: SingleLane1, b: SingleLane1) = SingleLane1(a.V + b.V)
        static member (-)(a: SingleLane1, b: SingleLane1) = SingleLane1(a.V - b.V)
        static member (*)(a: SingleLane1, b: SingleLane1) = SingleLane1(a.V * b.V)
        static member Fma(a, b, c) = SingleLane1(MathF.FusedMultiplyAdd(a.V, b.V, c.V))
        static member MinNative(a, b) = if a.V < b.V then a else b
        static member MaxNative(a, b) = if a.V > b.V then a else b
        static member Pow2OfRounded shifted =
            let k = BitConverter.SingleToInt32Bits shifted.V - SingleBits.RoundingBias
            SingleLane1(BitConverter.Int32BitsToSingle((k + SingleBits.ExponentBias) <<< 23))

/// Exponent-field arithmetic shared by the widths: 2^k = (k + 1023) << 52 as float64 bits, k read from the low bits
/// of 1.5·2^52 + k.
module internal LaneBits =
    [<Literal>]
    let RoundingBias = 0x4338000000000000L

    [<Literal>]
    let ExponentBias = 1023L

/// 512-bit lanes (AVX-512: 8 × float64). On a processor without AVX-512 the runtime executes them in software:
/// slower, same results, so the 512-bit kernels are tested everywhere.
[<Struct; IsReadOnly>]
type Lanes512 =
    val V: Vector512<float>
    new(v) = { V = v }
    interface ILanes<Lanes512> with
        static member Count = Vector512<float>.Count
        [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
        static member Splat x = Lanes512(Vector512.Create x)
        [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
        static member Load(a, j) = Lanes512(Vector512.LoadUnsafe(&MemoryMarshal.GetArrayDataReference a, unativeint j))
        [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
        static member Store(v, a, j) = Vector512.StoreUnsafe(v.V, &MemoryMarshal.GetArrayDataReference a, unativeint j)
        [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
        static member (+)(a: Lanes512, b: Lanes512) = Lanes512(a.V + b.V)
        [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
        static member (-)(a: Lanes512, b: Lanes512) = Lanes512(a.V - b.V)
        [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
        static member (*)(a: Lanes512, b: Lanes512) = Lanes512(a.V * b.V)
        [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
        static member Fma(a, b, c) = Lanes512(Vector512.FusedMultiplyAdd(a.V, b.V, c.V))
        [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
        static member MinNative(a, b) = Lanes512(Vector512.MinNative(a.V, b.V))
        [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
        static member MaxNative(a, b) = Lanes512(Vector512.MaxNative(a.V, b.V))
        [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
        static member Sum a = Vector512.Sum a.V
        [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
        static member Sqrt a = Lanes512(Vector512.Sqrt a.V)
        [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
        static member Log a = Lanes512(Vector512.Log a.V)
        static member MaxLane a =
            let mutable m = Double.NegativeInfinity
            for q in 0 .. Vector512<float>.Count - 1 do m <- Math.Max(m, a.V.GetElement q)
            m
        [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
        static member Pow2OfRounded shifted =
            let k = Vector512.AsInt64 shifted.V - Vector512.Create LaneBits.RoundingBias
            Lanes512(Vector512.AsDouble(Vector512.ShiftLeft(k + Vector512.Create LaneBits.ExponentBias, 52)))
        [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
        static member ZeroBelow(x, limit, value) =
            Lanes512(Vector512.ConditionalSelect(Vector512.LessThan(x.V, limit.V), Vector512<float>.Zero, value.V))
        [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
        static member ExpOfTermsInSingle(a, b) =
            let e = SingleMath.expOfTerm (SingleLanes512(Vector512.Narrow(a.V, b.V)))
            let struct (lo, hi) = Vector512.Widen e.V
            struct (Lanes512(lo), Lanes512(hi))

/// 256-bit lanes (AVX2: 4 × float64).
[<Struct; IsReadOnly>]
type Lanes256 =
    val V: Vector256<float>
    new(v) = { V = v }
    interface ILanes<Lanes256> with
        static member Count = Vector256<float>.Count
        [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
        static member Splat x = Lanes256(Vector256.Create x)
        [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
        static member Load(a, j) = Lanes256(Vector256.LoadUnsafe(&MemoryMarshal.GetArrayDataReference a, unativeint j))
        [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
        static member Store(v, a, j) = Vector256.StoreUnsafe(v.V, &MemoryMarshal.GetArrayDataReference a, unativeint j)
        [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
        static member (+)(a: Lanes256, b: Lanes256) = Lanes256(a.V + b.V)
        [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
        static member (-)(a: Lanes256, b: Lanes256) = Lanes256(a.V - b.V)
        [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
        static member (*)(a: Lanes256, b: Lanes256) = Lanes256(a.V * b.V)
        [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
        static member Fma(a, b, c) = Lanes256(Vector256.FusedMultiplyAdd(a.V, b.V, c.V))
        [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
        static member MinNative(a, b) = Lanes256(Vector256.MinNative(a.V, b.V))
        [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
        static member MaxNative(a, b) = Lanes256(Vector256.MaxNative(a.V, b.V))
        [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
        static member Sum a = Vector256.Sum a.V
        [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
        static member Sqrt a = Lanes256(Vector256.Sqrt a.V)
        [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
        static member Log a = Lanes256(Vector256.Log a.V)
        static member MaxLane a =
            let mutable m = Double.NegativeInfinity
            for q in 0 .. Vector256<float>.Count - 1 do m <- Math.Max(m, a.V.GetElement q)
            m
        [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
        static member Pow2OfRounded shifted =
            let k = Vector256.AsInt64 shifted.V - Vector256.Create LaneBits.RoundingBias
            Lanes256(Vector256.AsDouble(Vector256.ShiftLeft(k + Vector256.Create LaneBits.ExponentBias, 52)))
        [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
        static member ZeroBelow(x, limit, value) =
            Lanes256(Vector256.ConditionalSelect(Vector256.LessThan(x.V, limit.V), Vector256<float>.Zero, value.V))
        [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
        static member ExpOfTermsInSingle(a, b) =
            let e = SingleMath.expOfTerm (SingleLanes256(Vector256.Narrow(a.V, b.V)))
            let struct (lo, hi) = Vector256.Widen e.V
            struct (Lanes256(lo), Lanes256(hi))

/// 128-bit lanes (SSE/NEON: 2 × float64).
[<Struct; IsReadOnly>]
type Lanes128 =
    val V: Vector128<float>
    new(v) = { V = v }
    interface ILanes<Lanes128> with
        static member Count = Vector128<float>.Count
        [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
        static member Splat x = Lanes128(Vector128.Create x)
        [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
        static member Load(a, j) = Lanes128(Vector128.LoadUnsafe(&MemoryMarshal.GetArrayDataReference a, unativeint j))
        [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
        static member Store(v, a, j) = Vector128.StoreUnsafe(v.V, &MemoryMarshal.GetArrayDataReference a, unativeint j)
        [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
        static member (+)(a: Lanes128, b: Lanes128) = Lanes128(a.V + b.V)
        [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
        static member (-)(a: Lanes128, b: Lanes128) = Lanes128(a.V - b.V)
        [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
        static member (*)(a: Lanes128, b: Lanes128) = Lanes128(a.V * b.V)
        [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
        static member Fma(a, b, c) = Lanes128(Vector128.FusedMultiplyAdd(a.V, b.V, c.V))
        [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
        static member MinNative(a, b) = Lanes128(Vector128.MinNative(a.V, b.V))
        [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
        static member MaxNative(a, b) = Lanes128(Vector128.MaxNative(a.V, b.V))
        [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
        static member Sum a = Vector128.Sum a.V
        [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
        static member Sqrt a = Lanes128(Vector128.Sqrt a.V)
        [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
        static member Log a = Lanes128(Vector128.Log a.V)
        static member MaxLane a = Math.Max(a.V.GetElement 0, a.V.GetElement 1)
        [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
        static member Pow2OfRounded shifted =
            let k = Vector128.AsInt64 shifted.V - Vector128.Create LaneBits.RoundingBias
            Lanes128(Vector128.AsDouble(Vector128.ShiftLeft(k + Vector128.Create LaneBits.ExponentBias, 52)))
        [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
        static member ZeroBelow(x, limit, value) =
            Lanes128(Vector128.ConditionalSelect(Vector128.LessThan(x.V, limit.V), Vector128<float>.Zero, value.V))
        [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
        static member ExpOfTermsInSingle(a, b) =
            let e = SingleMath.expOfTerm (SingleLanes128(Vector128.Narrow(a.V, b.V)))
            let struct (lo, hi) = Vector128.Widen e.V
            struct (Lanes128(lo), Lanes128(hi))

/// One float64 lane: the scalar reference the vector widths are checked against, through the same kernels.
[<Struct; IsReadOnly>]
type Lane1 =
    val V: float
    new(v) = { V = v }
    interface ILanes<Lane1> with
        static member Count = 1
        [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
        static member Splat x = Lane1 x
        [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
        static member Load(a, j) = Lane1(Unsafe.Add(&MemoryMarshal.GetArrayDataReference a, j))
        [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
        static member Store(v, a, j) = Unsafe.Add(&MemoryMarshal.GetArrayDataReference a, j) <- v.V
        [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
        static member (+)(a: Lane1, b: Lane1) = Lane1(a.V + b.V)
        [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
        static member (-)(a: Lane1, b: Lane1) = Lane1(a.V - b.V)
        [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
        static member (*)(a: Lane1, b: Lane1) = Lane1(a.V * b.V)
        [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
        static member Fma(a, b, c) = Lane1(Math.FusedMultiplyAdd(a.V, b.V, c.V))
        // x86's minsd/maxsd: the second operand when either is NaN.
        [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
        static member MinNative(a, b) = if a.V < b.V then a else b
        [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
        static member MaxNative(a, b) = if a.V > b.V then a else b
        [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
        static member Sum a = a.V
        static member Sqrt a = Lane1(Math.Sqrt a.V)
        static member Log a = Lane1(Math.Log a.V)
        static member MaxLane a = a.V
        [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
        static member Pow2OfRounded shifted =
            let k = BitConverter.DoubleToInt64Bits shifted.V - LaneBits.RoundingBias
            Lane1(BitConverter.Int64BitsToDouble((k + LaneBits.ExponentBias) <<< 52))
        [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
        static member ZeroBelow(x, limit, value) = if x.V < limit.V then Lane1 0.0 else value
        [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
        static member ExpOfTermsInSingle(a, b) =
            let exp1 (v: float) = float (SingleMath.expOfTerm (SingleLane1(float32 v))).V
            struct (Lane1(exp1 a.V), Lane1(exp1 b.V))

/// The register width the CPU kernels run at, in bits (Scalar: one float64 at a time).
type SimdWidth =
    /// One float64 lane: the scalar reference.
    | Scalar = 64
    /// 2 × float64 (SSE, NEON).
    | Bits128 = 128
    /// 4 × float64 (AVX2).
    | Bits256 = 256
    /// 8 × float64 (AVX-512).
    | Bits512 = 512

/// Code generic over the width, run at a width chosen at run time (the one way to go from a SimdWidth value to the
/// lanes type; each width's instantiation is compiled once).
type IWidthGeneric<'R> =
    /// The code at the lanes type 'V.
    abstract Invoke<'V when 'V :> ILanes<'V> and 'V: struct> : unit -> 'R

module Simd =
    /// The widest width this processor executes in hardware.
    let widest =
        if Vector512.IsHardwareAccelerated then SimdWidth.Bits512
        elif Vector256.IsHardwareAccelerated then SimdWidth.Bits256
        elif Vector128.IsHardwareAccelerated then SimdWidth.Bits128
        else SimdWidth.Scalar

    /// Whether the processor executes this width in hardware (a wider one runs in software: correct, slow).
    let isHardware (width: SimdWidth) =
        match width with
        | SimdWidth.Bits512 -> Vector512.IsHardwareAccelerated
        | SimdWidth.Bits256 -> Vector256.IsHardwareAccelerated
        | SimdWidth.Bits128 -> Vector128.IsHardwareAccelerated
        | _ -> true

    /// float64 lanes per register.
    let lanes (width: SimdWidth) = int width / 64

    /// The widths by name: the values OTNATIVE_SIMD and the CLI's --simd take.
    let names = [ "512", SimdWidth.Bits512; "256", SimdWidth.Bits256; "128", SimdWidth.Bits128; "scalar", SimdWidth.Scalar ]

    /// The width's name in `names` ("512", …, "scalar").
    let name (width: SimdWidth) = names |> List.find (fun (_, w) -> w = width) |> fst

    /// A width from its name, or an error saying which names there are.
    let parse (text: string) =
        match names |> List.tryFind (fun (n, _) -> String.Equals(n, text.Trim(), StringComparison.OrdinalIgnoreCase)) with
        | Some (_, w) -> Ok w
        | None -> Error(sprintf "'%s' is not a SIMD width: use one of %s." text (names |> List.map fst |> String.concat ", "))

    /// OTNATIVE_SIMD when set (tests and benchmarks force a width with it), else the widest the hardware runs.
    /// An unknown value is an ArgumentException naming the variable (bad input: the CLI's exit code 2), raised where
    /// the default CPU backend is first used.
    let configured =
        lazy
            (match Environment.GetEnvironmentVariable "OTNATIVE_SIMD" with
             | null | "" -> widest
             | text ->
                 match parse text with
                 | Ok w -> w
                 | Error why -> raise (ArgumentException("OTNATIVE_SIMD: " + why)))

    /// "512-bit, 8 × float64, hardware" — what `otnative info` and the benchmark headers print.
    let describe (width: SimdWidth) =
        let bits = if width = SimdWidth.Scalar then "scalar" else sprintf "%d-bit" (int width)
        sprintf "%s, %d × float64, %s" bits (lanes width)
            (if isHardware width then "hardware" else "software (not accelerated on this processor)")

    /// Runs `code` instantiated at `width`.
    let run (width: SimdWidth) (code: IWidthGeneric<'R>) =
        match width with
        | SimdWidth.Bits512 -> code.Invoke<Lanes512>()
        | SimdWidth.Bits256 -> code.Invoke<Lanes256>()
        | SimdWidth.Bits128 -> code.Invoke<Lanes128>()
        | SimdWidth.Scalar -> code.Invoke<Lane1>()
        | other -> invalidArg "width" (sprintf "%d is not a SimdWidth." (int other))

/// Width-generic code instantiated once per width, on first use at that width, and kept: the dispatch of a kernel
/// called in a loop (a Sinkhorn iteration's row error) costs an array read, not an allocation.
[<Sealed>]
type PerWidth<'R>(code: IWidthGeneric<'R>) =
    let widths = [| SimdWidth.Scalar; SimdWidth.Bits128; SimdWidth.Bits256; SimdWidth.Bits512 |]
    let slots = widths |> Array.map (fun w -> lazy (Simd.run w code))
    /// The code at `width`.
    member _.At(width: SimdWidth) =
        match Array.IndexOf(widths, width) with
        | -1 -> invalidArg "width" (sprintf "%d is not a SimdWidth." (int width))
        | slot -> slots.[slot].Value
