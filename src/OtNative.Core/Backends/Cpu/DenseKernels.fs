/// Host passes over a materialised plan, SIMD at the configured width (the dense Hessian's block diagonal).
module internal OtNative.Core.DenseKernels

/// The lower triangle of Σ_j P_kj (x_k − y_j)(x_k − y_j)ᵀ for one row k of an n × m plan (row-major), written to
/// outer[q·d + t] for t ≤ q; y given by coordinate (yT: d × m). The differences are formed per pair (x alone need not
/// be of the spread's size).
let private rowOuterAt<'V when 'V :> ILanes<'V> and 'V: struct> (plan: float[]) (k: int) (m: int) (x: float[]) (yT: float[]) (d: int) (outer: float[]) =
    let lanes = 'V.Count
    let whole = m - m % lanes
    let row = k * m
    let sums = Array.init (d * (d + 1) / 2) (fun _ -> 'V.Splat 0.0)
    let diffs = Array.zeroCreate<'V> d
    let mutable j = 0
    while j < whole do
        let w = 'V.Load(plan, row + j)
        for q in 0 .. d - 1 do
            diffs.[q] <- 'V.Splat x.[k * d + q] - 'V.Load(yT, q * m + j)
        let mutable at = 0
        for q in 0 .. d - 1 do
            let wq = w * diffs.[q]
            for t in 0 .. q do
                sums.[at] <- 'V.Fma(wq, diffs.[t], sums.[at])
                at <- at + 1
        j <- j + lanes
    let mutable at = 0
    for q in 0 .. d - 1 do
        for t in 0 .. q do
            let mutable tail = 0.0
            for jj in whole .. m - 1 do
                tail <- tail + plan.[row + jj] * (x.[k * d + q] - yT.[q * m + jj]) * (x.[k * d + t] - yT.[t * m + jj])
            outer.[q * d + t] <- 'V.Sum sums.[at] + tail
            at <- at + 1

let private rowOuterKernel =
    PerWidth
        { new IWidthGeneric<System.Action<float[], int, int, float[], float[], int, float[]>> with
            member _.Invoke<'V when 'V :> ILanes<'V> and 'V: struct>() =
                System.Action<_, _, _, _, _, _, _>(fun plan k m x yT d outer -> rowOuterAt<'V> plan k m x yT d outer) }

/// y (m × d, row-major) by coordinate (d × m), for `rowOuter`.
let byCoordinate (y: Matrix) = Array.init (y.Cols * y.Rows) (fun t -> y.[t % y.Rows, t / y.Rows])

/// The lower triangle of Σ_j P_kj (x_k − y_j)(x_k − y_j)ᵀ into outer[q·d + t], t ≤ q (see `rowOuterAt`), at `width`.
/// The shapes are checked here: the loads inside are unchecked.
let rowOuter (width: SimdWidth) (plan: Matrix) (k: int) (x: Matrix) (yT: float[]) (outer: float[]) =
    let d, m = x.Cols, plan.Cols
    if plan.Rows <> x.Rows || yT.Length <> d * m || outer.Length < d * d || k < 0 || k >= plan.Rows then
        invalidArg "plan" (sprintf "rowOuter: a %d × %d plan, x %d × %d, y by coordinate of %d entries and %d outputs do not fit row %d." plan.Rows m x.Rows d yT.Length outer.Length k)
    rowOuterKernel.At(width).Invoke(plan.Data, k, m, x.Data, yT, d, outer)
