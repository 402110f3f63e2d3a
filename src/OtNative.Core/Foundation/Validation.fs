namespace OtNative.Core

open System

/// Input checks shared by every entry point: each failure is an ArgumentException that names
/// the parameter and says what was wrong.
module Validation =
    let private fail (param: string) (msg: string) = raise (ArgumentException(msg, param))

    /// Every value finite (no NaN, no ±Inf).
    let finite (param: string) (values: float[]) =
        if isNull values then raise (ArgumentNullException(param))
        let idx = Array.FindIndex(values, fun v -> not (Double.IsFinite v))
        if idx >= 0 then fail param (sprintf "%s contains a non-finite value (%g) at index %d." param values.[idx] idx)

    /// Every entry of a matrix finite; the first that is not is named by its [row, column].
    let finiteMatrix (param: string) (x: Matrix) =
        let idx = Array.FindIndex(x.Data, fun v -> not (Double.IsFinite v))
        if idx >= 0 then
            fail param (sprintf "%s contains a non-finite value (%g) at [%d, %d] (row %d, column %d)." param x.Data.[idx] (idx / x.Cols) (idx % x.Cols) (idx / x.Cols) (idx % x.Cols))

    /// A point cloud: at least one point, at least one coordinate, every coordinate finite.
    let pointCloud (param: string) (x: Matrix) =
        if isNull x then raise (ArgumentNullException(param))
        if x.Rows = 0 then fail param (sprintf "%s is empty: a point cloud needs at least one point." param)
        if x.Cols = 0 then fail param (sprintf "%s has zero columns: points need at least one coordinate." param)
        finiteMatrix param x

    /// Strictly positive finite weights of the given length summing to one within 1e-9.
    let weights (param: string) (expectedLength: int) (w: float[]) =
        if isNull w then raise (ArgumentNullException(param))
        if w.Length <> expectedLength then
            fail param (sprintf "%s has %d entries but there are %d points." param w.Length expectedLength)
        finite param w
        let idx = Array.FindIndex(w, fun v -> v <= 0.0)
        if idx >= 0 then fail param (sprintf "%s must be strictly positive; entry %d is %g." param idx w.[idx])
        let total = Array.sum w
        if abs (total - 1.0) > 1e-9 then
            fail param (sprintf "%s must sum to 1 (it sums to %.17g); normalise it or ask for renormalisation." param total)

    /// A strictly positive finite scalar.
    let positive (param: string) (v: float) =
        if not (Double.IsFinite v) || v <= 0.0 then fail param (sprintf "%s must be a positive finite number, got %g." param v)

    /// A vector of the given length, every value finite.
    let vector (param: string) (expectedLength: int) (v: float[]) =
        if isNull v then raise (ArgumentNullException(param))
        if v.Length <> expectedLength then fail param (sprintf "%s has %d entries, expected %d." param v.Length expectedLength)
        finite param v

    /// A matrix of the given shape, every value finite.
    let shape (param: string) (rows: int) (cols: int) (m: Matrix) =
        if isNull m then raise (ArgumentNullException(param))
        if m.Rows <> rows || m.Cols <> cols then
            fail param (sprintf "%s is %dx%d, expected %dx%d." param m.Rows m.Cols rows cols)
        finite param m.Data
