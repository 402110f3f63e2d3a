namespace OtNative.Core

open System

/// A dense float64 matrix stored row-major in one array: element (i, j) is Data[i * Cols + j].
/// Point clouds are matrices with one point per row.
[<Sealed; AllowNullLiteral>]
type Matrix(rows: int, cols: int, data: float[]) =
    do
        if rows < 0 || cols < 0 then invalidArg "rows" "Matrix dimensions must be non-negative."
        if isNull data then nullArg "data"
        if data.Length <> rows * cols then
            invalidArg "data" (sprintf "Expected %d values for a %dx%d matrix, got %d." (rows * cols) rows cols data.Length)

    /// Number of rows (points, for a point cloud).
    member _.Rows = rows
    /// Number of columns (the dimension, for a point cloud).
    member _.Cols = cols
    /// The row-major backing array; shared, not copied.
    member _.Data = data

    member _.Item
        with get (i: int, j: int) = data.[i * cols + j]
        and set (i: int, j: int) (v: float) = data.[i * cols + j] <- v

    /// Row i as a span over the backing array.
    member _.Row(i: int) = Span<float>(data, i * cols, cols)

    /// A copy with rows and columns exchanged.
    member _.Transpose() =
        let t = Array.zeroCreate (rows * cols)
        for i in 0 .. rows - 1 do
            for j in 0 .. cols - 1 do
                t.[j * rows + i] <- data.[i * cols + j]
        Matrix(cols, rows, t)

    /// A deep copy.
    member _.Copy() = Matrix(rows, cols, Array.copy data)

    /// Copies into a .NET rectangular array.
    member _.ToArray2D() = Array2D.init rows cols (fun i j -> data.[i * cols + j])

    static member Zeros(rows: int, cols: int) = Matrix(rows, cols, Array.zeroCreate (rows * cols))

    /// Copies a .NET rectangular array.
    static member OfArray2D(a: float[,]) =
        if isNull a then nullArg "a"
        let r, c = Array2D.length1 a, Array2D.length2 a
        Matrix(r, c, Array.init (r * c) (fun k -> a.[k / c, k % c]))

    /// A column vector (n×1) sharing the array.
    static member Column(v: float[]) = Matrix(v.Length, 1, v)

/// Small dense helpers used across the core (row-major, no allocation beyond the result).
module Dense =
    /// Aᵀ B for A (n×p) and B (n×q): p×q.
    let transposeTimes (a: Matrix) (b: Matrix) =
        if a.Rows <> b.Rows then invalidArg "b" (sprintf "Row counts differ: %d and %d." a.Rows b.Rows)
        let p, q = a.Cols, b.Cols
        let out = Array.zeroCreate (p * q)
        for k in 0 .. a.Rows - 1 do
            for i in 0 .. p - 1 do
                let aki = a.Data.[k * p + i]
                if aki <> 0.0 then
                    let o = i * q
                    let bk = k * q
                    for j in 0 .. q - 1 do
                        out.[o + j] <- out.[o + j] + aki * b.Data.[bk + j]
        Matrix(p, q, out)

    /// A B for A (n×p) and B (p×q): n×q.
    let times (a: Matrix) (b: Matrix) =
        if a.Cols <> b.Rows then invalidArg "b" (sprintf "Inner dimensions differ: %d and %d." a.Cols b.Rows)
        let n, p, q = a.Rows, a.Cols, b.Cols
        let out = Array.zeroCreate (n * q)
        for i in 0 .. n - 1 do
            for k in 0 .. p - 1 do
                let aik = a.Data.[i * p + k]
                if aik <> 0.0 then
                    for j in 0 .. q - 1 do
                        out.[i * q + j] <- out.[i * q + j] + aik * b.Data.[k * q + j]
        Matrix(n, q, out)

    /// Matrices of one shape (rows × d) side by side: rows × k·d, block c in columns c·d … c·d + d − 1 (the layout the
    /// per-pair contractions take several directions in).
    let sideBySide (blocks: Matrix[]) =
        let rows, d = blocks.[0].Rows, blocks.[0].Cols
        let width = blocks.Length * d
        Matrix(rows, width, Array.init (rows * width) (fun t -> let r, col = t / width, t % width in blocks.[col / d].[r, col % d]))

    /// Block c (rows × d) of a matrix of blocks side by side (`sideBySide`'s inverse, one block).
    let blockOf (packed: Matrix) (d: int) (c: int) =
        Matrix(packed.Rows, d, Array.init (packed.Rows * d) (fun t -> packed.[t / d, c * d + t % d]))

    /// Frobenius norm.
    let frobenius (a: Matrix) = sqrt (Array.sumBy (fun v -> v * v) a.Data)

    /// uᵀv, summed in index order.
    let dot (u: float[]) (v: float[]) =
        let mutable s = 0.0
        for i in 0 .. u.Length - 1 do s <- s + u.[i] * v.[i]
        s

    /// The trace of a square matrix.
    let trace (a: Matrix) =
        let mutable s = 0.0
        for i in 0 .. a.Rows - 1 do s <- s + a.[i, i]
        s

    /// Weighted mean of the rows: Σ_i w_i row_i.
    let weightedMeanRow (x: Matrix) (w: float[]) =
        let mean = Array.zeroCreate x.Cols
        for i in 0 .. x.Rows - 1 do
            for k in 0 .. x.Cols - 1 do
                mean.[k] <- mean.[k] + w.[i] * x.[i, k]
        mean
