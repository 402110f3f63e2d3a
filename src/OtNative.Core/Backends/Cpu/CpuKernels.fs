/// The CPU reference primitives: SIMD over the target index at any register width (generic over the lanes type 'V,
/// Lanes.fs), parallel over the source index, costs recomputed on the fly, log-sum-exp streamed.
module internal OtNative.Core.CpuKernels

open System
open System.Runtime.CompilerServices
open System.Runtime.InteropServices
open System.Threading.Tasks

/// Rounds up to whole registers of `lanes` float64: padded columns carry a −∞ log-weight, so they add exp(−∞) = 0
/// to every reduction and no loop needs a scalar tail.
let padded lanes n = (n + lanes - 1) / lanes * lanes

/// Columns per streamed log-sum-exp tile of the exact (two-pass) path: 16 KiB of exponents stay in L1.
let private tileWidth = 2048

/// Rows one parallel task takes: enough that the per-task scratch and hand-off are amortised over
/// 16 × ColsPadded pairs, few enough that a 2-core machine still gets hundreds of tasks to balance at n = 4 000.
let private rowsPerTask = 16

/// Below this many pairs the thread hand-off costs more than it saves.
let private parallelThreshold = 1 <<< 15

/// What a point layout's pairs cost, from the squared distance s = ‖x − y‖² its point rows form (math.md §10).
type PointCost =
    /// s itself: the squared Euclidean cost.
    | SquaredDistance
    /// √s: the Euclidean cost.
    | Distance
    /// s^half: the cost ‖x − y‖ᵖ with half = p/2, as exp(half · log s).
    | DistancePowerOf of half: float
    /// Any other cost: `fill i row` writes row i's costs into row (its first Cols entries) before a kernel reads them.
    | FilledRows of fill: (int -> float[] -> unit)

/// One side's cost rows laid out for SIMD: row i against every (padded) column j.
type CostLayout =
    { Rows: int
      Cols: int
      ColsPadded: int
      Dim: int
      /// Rows × Dim, row-major (point clouds) — null for a cost matrix.
      RowPoints: float[]
      /// Dim × ColsPadded, one coordinate per array row (point clouds) — null for a cost matrix.
      ColCoords: float[]
      /// Rows × ColsPadded (cost matrix) — null for point clouds.
      CostRows: float[]
      /// What the point rows' squared distances become (point clouds).
      PointCost: PointCost }

/// The layout of point clouds for registers of `lanes` float64.
let layoutOfPoints lanes (rowPts: Matrix) (colPts: Matrix) =
    let d, m = colPts.Cols, colPts.Rows
    let cp = padded lanes m
    let coords = Array.zeroCreate (d * cp)
    for j in 0 .. m - 1 do
        for k in 0 .. d - 1 do
            coords.[k * cp + j] <- colPts.[j, k]
    { Rows = rowPts.Rows; Cols = m; ColsPadded = cp; Dim = d
      RowPoints = Array.copy rowPts.Data; ColCoords = coords; CostRows = null; PointCost = SquaredDistance }

/// Point clouds of at most this many pairs (those whose passes run on one thread) get their costs tabulated in both
/// orientations: a pass then loads C_ij instead of forming it from d coordinates (n = m = 64, d = 3, values and
/// gradients at 512 bits: 2 050 → 2 414 problems/s; d = 2: 1 797 → 1 947), and both tables (16 n m bytes, at most 512 KiB)
/// stay in the second-level cache. Larger problems stream the coordinates: a table read from memory would cost more
/// than the arithmetic it saves.
let tabulatedPairs = 1 <<< 15

/// Both orientations (rows x against columns y, and y against x) of the point clouds' costs, tabulated in arrays rented
/// from the shared pool: the caller returns `CostRows` of both to it when done. Each C_ij is formed as the streamed
/// point rows form it (coordinate differences, then FMAs in coordinate order), so tabulated and streamed passes agree
/// to the bit.
let tabulatedLayoutsOfPoints lanes (x: Matrix) (y: Matrix) =
    let n, m, d = x.Rows, y.Rows, x.Cols
    let cpRows, cpCols = padded lanes m, padded lanes n
    let rows = Buffers.ArrayPool<float>.Shared.Rent(n * cpRows)
    let cols = Buffers.ArrayPool<float>.Shared.Rent(m * cpCols)
    // The padding's cost is zero: its column term −∞ makes the entry exp(−∞) = 0, where a stale pooled value could be NaN.
    Array.fill rows 0 (n * cpRows) 0.0
    Array.fill cols 0 (m * cpCols) 0.0
    let xs, ys = x.Data, y.Data
    for i in 0 .. n - 1 do
        for j in 0 .. m - 1 do
            let mutable c = 0.0
            for k in 0 .. d - 1 do
                let t = ys.[j * d + k] - xs.[i * d + k]
                c <- Math.FusedMultiplyAdd(t, t, c)
            rows.[i * cpRows + j] <- c
            cols.[j * cpCols + i] <- c
    { Rows = n; Cols = m; ColsPadded = cpRows; Dim = d; RowPoints = null; ColCoords = null; CostRows = rows; PointCost = SquaredDistance },
    { Rows = m; Cols = n; ColsPadded = cpCols; Dim = d; RowPoints = null; ColCoords = null; CostRows = cols; PointCost = SquaredDistance }

/// The layouts (rows x against columns y, and y against x) of point clouds under a ground cost other than the squared
/// Euclidean one (math.md §10): ‖x − y‖ᵖ streams the point rows through a SIMD square root or power; any other cost
/// fills each row from the cost itself — its `Row` for x against y; for y against x its `Row` again when it is
/// symmetric, else its `Value` pair by pair.
let layoutsOfCloudsWithCost lanes (x: Matrix) (y: Matrix) (cost: IPairCost) =
    let rows, cols = layoutOfPoints lanes x y, layoutOfPoints lanes y x
    let both kind = { rows with PointCost = kind }, { cols with PointCost = kind }
    match cost with
    | :? DistancePower as power when power.P = 1.0 -> both Distance
    | :? DistancePower as power -> both (DistancePowerOf(0.5 * power.P))
    | _ ->
        let d = x.Cols
        let fillRows i (row: float[]) = cost.Row(ReadOnlySpan(x.Data, i * d, d), ReadOnlySpan y.Data, Span(row, 0, y.Rows))
        let fillCols j (row: float[]) =
            if cost.Symmetric then cost.Row(ReadOnlySpan(y.Data, j * d, d), ReadOnlySpan x.Data, Span(row, 0, x.Rows))
            else
                for i in 0 .. x.Rows - 1 do row.[i] <- cost.Value(ReadOnlySpan(x.Data, i * d, d), ReadOnlySpan(y.Data, j * d, d))
        { rows with PointCost = FilledRows fillRows }, { cols with PointCost = FilledRows fillCols }

/// The layout of a cost matrix for registers of `lanes` float64.
let layoutOfCost lanes (cost: Matrix) =
    let cp = padded lanes cost.Cols
    let rows = Array.zeroCreate (cost.Rows * cp)
    for i in 0 .. cost.Rows - 1 do
        Array.blit cost.Data (i * cost.Cols) rows (i * cp) cost.Cols
    { Rows = cost.Rows; Cols = cost.Cols; ColsPadded = cp; Dim = 0
      RowPoints = null; ColCoords = null; CostRows = rows; PointCost = SquaredDistance }

// Row i's costs C_ij, the lanes at padded column j. One read-only struct per layout kind: the JIT specialises
// every generic loop below for each (and each width) and inlines `At`, so the cost of a 2-D point pair is two
// subtractions and two FMAs in registers, with no per-coordinate loop, array of broadcasts or branch in the hot loop.
type IRowCost<'V when 'V :> ILanes<'V>> =
    abstract At: j: int -> 'V

[<Struct; IsReadOnly>]
type private MatrixRow<'V when 'V :> ILanes<'V>>(rows: float[], offset: int) =
    interface IRowCost<'V> with
        [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
        member _.At j = 'V.Load(rows, offset + j)

[<Struct; IsReadOnly>]
type private PointRow1<'V when 'V :> ILanes<'V>>(c: float[], x0: 'V) =
    interface IRowCost<'V> with
        [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
        member _.At j =
            let t0 = 'V.Load(c, j) - x0
            t0 * t0

[<Struct; IsReadOnly>]
type private PointRow2<'V when 'V :> ILanes<'V>>(c: float[], cp: int, x0: 'V, x1: 'V) =
    interface IRowCost<'V> with
        [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
        member _.At j =
            let t0 = 'V.Load(c, j) - x0
            let t1 = 'V.Load(c, cp + j) - x1
            'V.Fma(t1, t1, t0 * t0)

[<Struct; IsReadOnly>]
type private PointRow3<'V when 'V :> ILanes<'V>>(c: float[], cp: int, x0: 'V, x1: 'V, x2: 'V) =
    interface IRowCost<'V> with
        [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
        member _.At j =
            let t0 = 'V.Load(c, j) - x0
            let t1 = 'V.Load(c, cp + j) - x1
            let t2 = 'V.Load(c, 2 * cp + j) - x2
            'V.Fma(t2, t2, 'V.Fma(t1, t1, t0 * t0))

[<Struct; IsReadOnly>]
type private PointRowAny<'V when 'V :> ILanes<'V>>(c: float[], cp: int, pts: float[], offset: int, d: int) =
    interface IRowCost<'V> with
        [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
        member _.At j =
            let mutable acc = 'V.Splat 0.0
            for k in 0 .. d - 1 do
                let t = 'V.Load(c, k * cp + j) - 'V.Splat pts.[offset + k]
                acc <- 'V.Fma(t, t, acc)
            acc

/// What a kernel does with one row, for every cost kind: `Row` is called with row i's cost.
type IRowKernel<'V when 'V :> ILanes<'V>> =
    abstract Row<'C when 'C :> IRowCost<'V> and 'C: struct> : i: int * cost: 'C -> unit

// A cost that is a function of the squared distance s is formed from the point rows' cost: √s wrapped around it, s^h =
// exp(h log s) (0 at s = 0: log 0 = −∞ and the exponential of −∞ is 0) written into a row first. The kernel wrappers hand
// the cost to the kernel they wrap, so the JIT still specialises every loop for the cost struct.
[<Struct; IsReadOnly>]
type private RootRow<'V, 'C when 'V :> ILanes<'V> and 'C :> IRowCost<'V> and 'C: struct>(squared: 'C) =
    interface IRowCost<'V> with
        [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
        member _.At j = 'V.Sqrt(squared.At j)

[<Struct; IsReadOnly>]
type private RootKernel<'V, 'K when 'V :> ILanes<'V> and 'K :> IRowKernel<'V> and 'K: struct>(inner: 'K) =
    interface IRowKernel<'V> with
        member _.Row(i, cost) = inner.Row(i, RootRow<'V, _>(cost))

/// The power's log and exp cost several times the kernel's own exponential: they are evaluated once per row into `row`
/// (ColsPadded long), which the kernel then streams. Wrapped around the point row, as `RootKernel` is, they were evaluated
/// inside every loop of the kernel and the d = 3 row lost its registers: at n = 4 000 and 512 bits 4.4× (d = 2) and 9.0×
/// (d = 3) the squared Euclidean row's time per iteration, against 3.1× and 3.4× filled first.
[<Struct; IsReadOnly>]
type private PowerKernel<'V, 'K when 'V :> ILanes<'V> and 'K :> IRowKernel<'V> and 'K: struct>(inner: 'K, half: 'V, row: float[], cols: int) =
    interface IRowKernel<'V> with
        member _.Row(i, squared) =
            let mutable j = 0
            while j < cols do
                'V.Store(SimdMath.exp (half * 'V.Log(squared.At j)), row, j)
                j <- j + 'V.Count
            inner.Row(i, MatrixRow<'V>(row, 0))

/// Runs `kernel` on rows lo … hi−1 of a point layout with the point-row cost struct of its dimension.
let private eachPointRow<'V, 'K when 'V :> ILanes<'V> and 'V: struct and 'K :> IRowKernel<'V> and 'K: struct> (l: CostLayout) (kernel: 'K) lo hi =
    let cp = l.ColsPadded
    let c, x = l.ColCoords, l.RowPoints
    match l.Dim with
    | 1 -> for i in lo .. hi - 1 do kernel.Row(i, PointRow1<'V>(c, 'V.Splat x.[i]))
    | 2 -> for i in lo .. hi - 1 do kernel.Row(i, PointRow2<'V>(c, cp, 'V.Splat x.[2 * i], 'V.Splat x.[2 * i + 1]))
    | 3 ->
        for i in lo .. hi - 1 do
            kernel.Row(i, PointRow3<'V>(c, cp, 'V.Splat x.[3 * i], 'V.Splat x.[3 * i + 1], 'V.Splat x.[3 * i + 2]))
    | d -> for i in lo .. hi - 1 do kernel.Row(i, PointRowAny<'V>(c, cp, x, i * d, d))

/// Runs `kernel` on rows lo … hi−1 with the cost struct of l's kind (chosen once per block of rows).
let private eachRow<'V, 'K when 'V :> ILanes<'V> and 'V: struct and 'K :> IRowKernel<'V> and 'K: struct> (l: CostLayout) (kernel: 'K) lo hi =
    let cp = l.ColsPadded
    if not (isNull l.CostRows) then
        for i in lo .. hi - 1 do kernel.Row(i, MatrixRow<'V>(l.CostRows, i * cp))
    else
        match l.PointCost with
        | SquaredDistance -> eachPointRow<'V, 'K> l kernel lo hi
        | Distance -> eachPointRow<'V, _> l (RootKernel<'V, 'K>(kernel)) lo hi
        | DistancePowerOf half ->
            let row = Buffers.ArrayPool<float>.Shared.Rent cp
            try eachPointRow<'V, _> l (PowerKernel<'V, 'K>(kernel, 'V.Splat half, row, cp)) lo hi
            finally Buffers.ArrayPool<float>.Shared.Return row
        | FilledRows fill ->
            // One row of costs per block of rows, its padding zero (the padded columns' −∞ term makes them vanish).
            let row = Buffers.ArrayPool<float>.Shared.Rent cp
            try
                Array.fill row l.Cols (cp - l.Cols) 0.0
                for i in lo .. hi - 1 do
                    fill i row
                    kernel.Row(i, MatrixRow<'V>(row, 0))
            finally Buffers.ArrayPool<float>.Shared.Return row

/// The unchecked loads rely on this: an array the loops stream over has at least the padded length they assume (a
/// buffer rented from the pool may be longer; the loops read only the layout's length).
let private requireLength (name: string) (expected: int) (a: float[]) =
    if isNull a || a.Length < expected then
        invalidArg name (sprintf "%s has %d entries where the padded layout needs %d." name (if isNull a then 0 else a.Length) expected)

/// The unchecked loads and stores also rely on the layout being padded to whole registers of the width run at.
let private requireLanes<'V when 'V :> ILanes<'V>> (l: CostLayout) =
    if l.ColsPadded % 'V.Count <> 0 then
        invalidArg "l" (sprintf "The layout is padded to %d columns, not a multiple of the %d lanes it is run at." l.ColsPadded 'V.Count)

/// colTerm_j = other_j/ε + logW_j over padded columns (−∞ on the padding), written into `t`.
let columnTermInto (l: CostLayout) (eps: float) (other: float[]) (logW: float[]) (t: float[]) =
    for j in 0 .. l.Cols - 1 do
        t.[j] <- other.[j] / eps + logW.[j]
    for j in l.Cols .. l.ColsPadded - 1 do
        t.[j] <- Double.NegativeInfinity

/// The length of the exact path's tile of exponents, per thread, sized to the problem (a 64-column problem needs
/// 512 bytes, not a whole tile).
let tileLength (l: CostLayout) = min tileWidth l.ColsPadded

/// A fresh tile.
let newTile (l: CostLayout) : float[] = Array.zeroCreate (tileLength l)

/// Whether a pass over l is worth spreading over threads.
let private worthThreads (l: CostLayout) = int64 l.Rows * int64 l.ColsPadded >= int64 parallelThreshold

/// Runs body on blocks of rows, spread over threads when the pass is large.
let private forRowBlocks (l: CostLayout) (cancellation: Threading.CancellationToken) (body: int -> int -> unit) =
    if not (worthThreads l) then body 0 l.Rows
    else
        let chunks = (l.Rows + rowsPerTask - 1) / rowsPerTask
        Parallelism.run (fun () -> Parallel.For(0, chunks, Parallelism.options cancellation, fun c -> body (c * rowsPerTask) (min l.Rows ((c + 1) * rowsPerTask))))

/// Runs body on blocks of rows, spread over threads when the pass is large, each thread with its own tile.
let private forRows (l: CostLayout) (tile: float[]) (cancellation: Threading.CancellationToken) (body: int -> int -> float[] -> unit) =
    if not (worthThreads l) then body 0 l.Rows tile
    else
        let chunks = (l.Rows + rowsPerTask - 1) / rowsPerTask
        let work c (s: float[]) =
            body (c * rowsPerTask) (min l.Rows ((c + 1) * rowsPerTask)) s
            s
        // Cancellation is checked between blocks of rows: a half-step of a large problem stops within one block.
        Parallelism.run (fun () ->
            Parallel.For(0, chunks, Parallelism.options cancellation, Func<_>(fun () -> newTile l),
                         Func<int, ParallelLoopState, _, _>(fun c _ s -> work c s), Action<_>(ignore)))

/// Σ_j exp(colTerm_j − C_ij/ε − shift) over the padded columns, in one pass.
let inline private shiftedSum<'V, 'C when 'V :> ILanes<'V> and 'C :> IRowCost<'V> and 'C: struct> (cost: 'C) (colTerm: float[]) (cols: int) (negInvEps: 'V) (shift: float) =
    let s = 'V.Splat shift
    let mutable v = 'V.Splat 0.0
    let mutable j = 0
    while j < cols do
        v <- v + SimdMath.expOfTerm ('V.Fma(cost.At j, negInvEps, 'V.Load(colTerm, j) - s))
        j <- j + 'V.Count
    'V.Sum v

/// The same sum with the exponentials in float32 (mixed precision): the arguments formed in float64, rounded to float32
/// two registers at a time, exponentiated in one register of float32 lanes and summed in float64.
let inline private shiftedSumMixed<'V, 'C when 'V :> ILanes<'V> and 'C :> IRowCost<'V> and 'C: struct> (cost: 'C) (colTerm: float[]) (cols: int) (negInvEps: 'V) (shift: float) =
    let lanes = 'V.Count
    let s = 'V.Splat shift
    let mutable v0 = 'V.Splat 0.0
    let mutable v1 = 'V.Splat 0.0
    let mutable j = 0
    while j + 2 * lanes <= cols do
        let za = 'V.Fma(cost.At j, negInvEps, 'V.Load(colTerm, j) - s)
        let zb = 'V.Fma(cost.At(j + lanes), negInvEps, 'V.Load(colTerm, j + lanes) - s)
        let struct (ea, eb) = 'V.ExpOfTermsInSingle(za, zb)
        v0 <- v0 + ea
        v1 <- v1 + eb
        j <- j + 2 * lanes
    if j < cols then
        let za = 'V.Fma(cost.At j, negInvEps, 'V.Load(colTerm, j) - s)
        let struct (ea, _) = 'V.ExpOfTermsInSingle(za, 'V.Splat Double.NegativeInfinity)
        v0 <- v0 + ea
    'V.Sum(v0 + v1)

/// LSE_j(colTerm_j − C_ij/ε) exactly: each tile's exponents stored with their max, then summed against it.
let private exactLse<'V, 'C when 'V :> ILanes<'V> and 'C :> IRowCost<'V> and 'C: struct> (cost: 'C) (colTerm: float[]) (cols: int) (negInvEps: 'V) (z: float[]) =
    let lanes = 'V.Count
    let mutable runMax = Double.NegativeInfinity
    let mutable runSum = 0.0
    let mutable t0 = 0
    while t0 < cols do
        let t1 = min cols (t0 + z.Length)
        let mutable vmax = 'V.Splat Double.NegativeInfinity
        let mutable j = t0
        while j < t1 do
            let zj = 'V.Fma(cost.At j, negInvEps, 'V.Load(colTerm, j))
            'V.Store(zj, z, j - t0)
            vmax <- 'V.MaxNative(vmax, zj)
            j <- j + lanes
        let tmax = 'V.MaxLane vmax
        // A NaN exponent makes the row NaN: the hardware max keeps it only if it is in the tile's last register, and a
        // NaN tmax would otherwise skip the tile.
        if Double.IsNaN tmax then runSum <- nan
        elif tmax > Double.NegativeInfinity then
            let shift = 'V.Splat tmax
            let mutable vs = 'V.Splat 0.0
            let mutable vs2 = 'V.Splat 0.0
            let mutable q = 0
            while q + 2 * lanes <= t1 - t0 do
                vs <- vs + SimdMath.exp ('V.Load(z, q) - shift)
                vs2 <- vs2 + SimdMath.exp ('V.Load(z, q + lanes) - shift)
                q <- q + 2 * lanes
            if q < t1 - t0 then vs <- vs + SimdMath.exp ('V.Load(z, q) - shift)
            let s = 'V.Sum(vs + vs2)
            if tmax > runMax then
                runSum <- runSum * exp (runMax - tmax) + s
                runMax <- tmax
            else
                runSum <- runSum + s * exp (tmax - runMax)
        t0 <- t1
    runMax + log runSum

/// A shifted sum is kept when it lies in [e^−575, e^575]: then no exponential saturated (each is at most the
/// sum), the largest is at least e^−575/m — far above the subnormals — and the ones lost below e^−708 are
/// under e^−100 of it.
let private acceptedSum (s: float) = s >= 1e-250 && s <= 1e250

/// A float32-exponential sum is kept in [1e-20, 1e20]: no term saturated (e^88 ≈ 1.7e38), and the terms below e^−87.3,
/// each counted as e^−87.3 ≈ 1.2e-38, are under m · 1.2e-18 of it.
let private acceptedMixedSum (s: float) = s >= 1e-20 && s <= 1e20

/// Whether float32 exponentials speed the half-steps of an n × m problem up. Measured at 512 bits: 64-column rows ran 1.2×
/// slower in float32 (a row of four register pairs is one dependency chain: narrow, exponential, widen), rows of 256
/// points and more faster (1.5× at 4 000).
let mixedWorthwhile (n: int) (m: int) = min n m >= 256

/// How a row's one-pass shifted sum takes its exponentials — float64, or float32 (mixed precision) — as a type, so that
/// each half-step kernel is compiled with one of them inlined (a flag tested per row made the JIT give up on the row's
/// loop: 64 × 64 half-steps took 1.6× as long). NaN when the sum left the range in which it is kept.
type IShiftedSum<'V when 'V :> ILanes<'V>> =
    static abstract Of<'C when 'C :> IRowCost<'V> and 'C: struct> : cost: 'C * colTerm: float[] * cols: int * negInvEps: 'V * shift: float -> float

[<Struct>]
type private DoubleSum<'V when 'V :> ILanes<'V>> =
    interface IShiftedSum<'V> with
        [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
        static member Of(cost, colTerm, cols, negInvEps, shift) = shiftedSum cost colTerm cols negInvEps shift

[<Struct>]
type private MixedSum<'V when 'V :> ILanes<'V>> =
    interface IShiftedSum<'V> with
        [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
        static member Of(cost, colTerm, cols, negInvEps, shift) =
            let t = shiftedSumMixed cost colTerm cols negInvEps shift
            if acceptedMixedSum t then t else nan

[<Struct; IsReadOnly>]
type private SoftminRow<'V, 'S when 'V :> ILanes<'V> and 'V: struct and 'S :> IShiftedSum<'V>>(colTerm: float[], cols: int, negInvEps: 'V, eps: float, result: float[], tile: float[]) =
    interface IRowKernel<'V> with
        member _.Row(i, cost) =
            // The row's incoming result (the previous potential, in a Sinkhorn loop) gives the shift: then one pass
            // over the pairs suffices (no max pass, no stored tile). A first step, a jump of the potentials or a
            // changed ε makes the sum leave the safe range, and that row is computed exactly (in float64).
            let hint = -result.[i] / eps
            let s = if Double.IsFinite hint then 'S.Of(cost, colTerm, cols, negInvEps, hint) else nan
            let lse = if acceptedSum s then hint + log s else exactLse cost colTerm cols negInvEps tile
            result.[i] <- -eps * lse

/// The half-step with the sum 'S.
let private softminWith<'V, 'S when 'V :> ILanes<'V> and 'V: struct and 'S :> IShiftedSum<'V>> (l: CostLayout) (eps: float) (colTerm: float[]) (result: float[]) (tile: float[]) (cancellation: Threading.CancellationToken) =
    let negInvEps = 'V.Splat(-1.0 / eps)
    if not (worthThreads l) then eachRow<'V, _> l (SoftminRow<'V, 'S>(colTerm, l.ColsPadded, negInvEps, eps, result, tile)) 0 l.Rows
    else forRows l tile cancellation (fun lo hi s -> eachRow<'V, _> l (SoftminRow<'V, 'S>(colTerm, l.ColsPadded, negInvEps, eps, result, s)) lo hi)

/// result_i = −ε LSE_j(colTerm_j − C_ij/ε). result's incoming values, where finite, are taken as a guess of
/// the answer (they decide only how it is computed, and so its rounding: the same inputs give the same bits).
/// `mixed`: the one-pass sums take their exponentials in float32 (rows computed exactly stay float64).
/// A pass too small to parallelise runs on the caller's tile and allocates nothing.
let softmin<'V when 'V :> ILanes<'V> and 'V: struct> (l: CostLayout) (eps: float) (colTerm: float[]) (result: float[]) (tile: float[]) (mixed: bool) (cancellation: Threading.CancellationToken) =
    requireLanes<'V> l
    requireLength "colTerm" l.ColsPadded colTerm
    if mixed then softminWith<'V, MixedSum<'V>> l eps colTerm result tile cancellation
    else softminWith<'V, DoubleSum<'V>> l eps colTerm result tile cancellation

/// exp(rowTerm_i + colTerm_j − C_ij/ε) · (C_ij if weighted) at the lanes of column j.
let inline private weightedEntry<'V, 'C when 'V :> ILanes<'V> and 'C :> IRowCost<'V> and 'C: struct> (cost: 'C) (colTerm: float[]) (negInvEps: 'V) (rt: 'V) (weighted: bool) (j: int) =
    let c = cost.At j
    let p = SimdMath.exp ('V.Fma(c, negInvEps, 'V.Load(colTerm, j) + rt))
    if weighted then p * c else p

[<Struct; IsReadOnly>]
type private ApplyRow<'V when 'V :> ILanes<'V> and 'V: struct>(colTerm: float[], cp: int, rowTerm: float[], negInvEps: 'V, vT: float[], k: int, weighted: bool, acc: 'V[], out: float[]) =
    interface IRowKernel<'V> with
        member _.Row(i, cost) =
            let rt = 'V.Splat rowTerm.[i]
            if k = 1 then
                // One vector (every CG step of an HVP): its sum stays in a register, where the array of k sums below
                // puts a store-to-load chain on every vector.
                let mutable a = 'V.Splat 0.0
                let mutable j = 0
                while j < cp do
                    a <- 'V.Fma(weightedEntry cost colTerm negInvEps rt weighted j, 'V.Load(vT, j), a)
                    j <- j + 'V.Count
                out.[i] <- 'V.Sum a
            else
                Array.fill acc 0 k ('V.Splat 0.0)
                let mutable j = 0
                while j < cp do
                    let w = weightedEntry cost colTerm negInvEps rt weighted j
                    for q in 0 .. k - 1 do
                        acc.[q] <- 'V.Fma(w, 'V.Load(vT, q * cp + j), acc.[q])
                    j <- j + 'V.Count
                for q in 0 .. k - 1 do
                    out.[i * k + q] <- 'V.Sum acc.[q]

/// out_i,q = Σ_j exp(rowTerm_i + colTerm_j − C_ij/ε) · (C_ij if weighted) · vT[q, j],
/// vT being the k vectors laid out q-major over padded columns.
/// Written into out[i·k + q] (out at least Rows × k long); `cancellation` is checked between blocks of rows.
let applyInto<'V when 'V :> ILanes<'V> and 'V: struct> (l: CostLayout) (eps: float) (rowTerm: float[]) (colTerm: float[]) (vT: float[]) (k: int) (weighted: bool) (out: float[]) (cancellation: Threading.CancellationToken) =
    requireLanes<'V> l
    requireLength "colTerm" l.ColsPadded colTerm
    requireLength "vT" (k * l.ColsPadded) vT
    requireLength "out" (l.Rows * k) out
    let negInvEps = 'V.Splat(-1.0 / eps)
    forRowBlocks l cancellation (fun lo hi ->
        eachRow<'V, _> l (ApplyRow<'V>(colTerm, l.ColsPadded, rowTerm, negInvEps, vT, k, weighted, Array.zeroCreate k, out)) lo hi)

[<Struct; IsReadOnly>]
type private CoupledRow<'V when 'V :> ILanes<'V> and 'V: struct>(colTerm: float[], cp: int, rowTerm: float[], negInvEps: 'V, vT: float[], k: int, rowWeights: float[], row: float[], acc: float[]) =
    interface IRowKernel<'V> with
        member _.Row(i, cost) =
            let lanes = 'V.Count
            let rt = 'V.Splat rowTerm.[i]
            let mutable j = 0
            while j < cp do
                'V.Store(SimdMath.exp ('V.Fma(cost.At j, negInvEps, 'V.Load(colTerm, j) + rt)), row, j)
                j <- j + lanes
            for q in 0 .. k - 1 do
                let at = q * cp
                // Two sums a vector apart: one accumulator would wait on its own FMA latency every vector.
                let mutable a0 = 'V.Splat 0.0
                let mutable a1 = 'V.Splat 0.0
                let mutable j = 0
                while j + 2 * lanes <= cp do
                    a0 <- 'V.Fma('V.Load(row, j), 'V.Load(vT, at + j), a0)
                    a1 <- 'V.Fma('V.Load(row, j + lanes), 'V.Load(vT, at + j + lanes), a1)
                    j <- j + 2 * lanes
                if j < cp then a0 <- 'V.Fma('V.Load(row, j), 'V.Load(vT, at + j), a0)
                let u = 'V.Splat('V.Sum(a0 + a1) * rowWeights.[i])
                let mutable j = 0
                while j < cp do
                    'V.Store('V.Fma('V.Load(row, j), u, 'V.Load(acc, at + j)), acc, at + j)
                    j <- j + lanes

/// At most this many row groups (and accumulators) per coupled pass; enough to keep 64 cores busy.
let private maxCoupledGroups = 64

/// The coupled pass's accumulators may take this much memory in all.
let private coupledAccumulatorBytes = 256L <<< 20

/// out[q·ColsPadded + j] = Σ_i P_ij w_i Σ_l P_il vT[q, l] (Pᵀ diag(w) P V, q-major over padded columns), each P_ij
/// evaluated once. The rows are cut into groups fixed by the sizes alone (never by the thread count), each summed in
/// row order into its own accumulator, and the groups added in order: the same inputs give the same bits on any machine
/// of this width, however many threads run.
let coupled<'V when 'V :> ILanes<'V> and 'V: struct> (l: CostLayout) (eps: float) (rowTerm: float[]) (colTerm: float[]) (vT: float[]) (k: int) (rowWeights: float[]) (cancellation: Threading.CancellationToken) =
    requireLanes<'V> l
    requireLength "colTerm" l.ColsPadded colTerm
    requireLength "vT" (k * l.ColsPadded) vT
    if k < 1 then invalidArg "k" "The coupled pass needs at least one vector."
    let negInvEps = 'V.Splat(-1.0 / eps)
    let width = k * l.ColsPadded
    let byMemory = int (max 1L (coupledAccumulatorBytes / (8L * int64 width)))
    let groups = if worthThreads l then max 1 (min (min maxCoupledGroups byMemory) ((l.Rows + rowsPerTask - 1) / rowsPerTask)) else 1
    let accumulators = Array.init groups (fun _ -> Buffers.ArrayPool<float>.Shared.Rent width)
    try
        let run group =
            let lo, hi = int (int64 l.Rows * int64 group / int64 groups), int (int64 l.Rows * int64 (group + 1) / int64 groups)
            let acc = accumulators.[group]
            Array.fill acc 0 width 0.0
            let row = Buffers.ArrayPool<float>.Shared.Rent l.ColsPadded
            try eachRow<'V, _> l (CoupledRow<'V>(colTerm, l.ColsPadded, rowTerm, negInvEps, vT, k, rowWeights, row, acc)) lo hi
            finally Buffers.ArrayPool<float>.Shared.Return row
        if groups = 1 then run 0
        else Parallelism.run (fun () -> Parallel.For(0, groups, Parallelism.options cancellation, fun group -> run group))
        let out = Array.zeroCreate width
        for acc in accumulators do
            for t in 0 .. width - 1 do out.[t] <- out.[t] + acc.[t]
        out
    finally
        for acc in accumulators do Buffers.ArrayPool<float>.Shared.Return acc

[<Struct; IsReadOnly>]
type private PlanRow<'V when 'V :> ILanes<'V> and 'V: struct>(colTerm: float[], cp: int, rowTerm: float[], negInvEps: 'V, cols: int, buf: float[], out: float[]) =
    interface IRowKernel<'V> with
        member _.Row(i, cost) =
            let rt = 'V.Splat rowTerm.[i]
            let mutable t0 = 0
            while t0 < cp do
                let t1 = min cp (t0 + buf.Length)
                let mutable j = t0
                while j < t1 do
                    'V.Store(SimdMath.exp ('V.Fma(cost.At j, negInvEps, 'V.Load(colTerm, j) + rt)), buf, j - t0)
                    j <- j + 'V.Count
                let count = min (t1 - t0) (cols - t0)
                if count > 0 then Array.blit buf 0 out (i * cols + t0) count
                t0 <- t1

/// P_ij = exp(rowTerm_i + colTerm_j − C_ij/ε), materialised (Rows × Cols).
let plan<'V when 'V :> ILanes<'V> and 'V: struct> (l: CostLayout) (eps: float) (rowTerm: float[]) (colTerm: float[]) =
    requireLanes<'V> l
    requireLength "colTerm" l.ColsPadded colTerm
    let negInvEps = 'V.Splat(-1.0 / eps)
    let out = Array.zeroCreate (l.Rows * l.Cols)
    forRows l (newTile l) Threading.CancellationToken.None (fun lo hi tile ->
        eachRow<'V, _> l (PlanRow<'V>(colTerm, l.ColsPadded, rowTerm, negInvEps, l.Cols, tile, out)) lo hi)
    Matrix(l.Rows, l.Cols, out)
