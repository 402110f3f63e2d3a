/// The CPU reference primitives: SIMD (System.Numerics.Vector) over the target index, parallel
/// over the source index, costs recomputed on the fly, log-sum-exp streamed tile by tile.
module internal OtNative.Core.CpuKernels

open System
open System.Numerics
open System.Threading.Tasks

let lanes = Vector<float>.Count

/// Rounds up to whole SIMD vectors: padded columns carry a −∞ log-weight, so they add exp(−∞) = 0
/// to every reduction and no loop needs a scalar tail.
let padded n = (n + lanes - 1) / lanes * lanes

/// Columns per streamed log-sum-exp tile: 16 KiB of exponents stay in L1.
let private tileWidth = 2048

/// Rows one parallel task takes: enough that the per-task scratch and hand-off are amortised over
/// 16 × ColsPadded pairs, few enough that a 2-core machine still gets hundreds of tasks to balance at n = 4 000.
let private rowsPerTask = 16

/// Below this many pairs the thread hand-off costs more than it saves.
let private parallelThreshold = 1 <<< 15

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
      CostRows: float[] }

let layoutOfPoints (rowPts: Matrix) (colPts: Matrix) =
    let d, m = colPts.Cols, colPts.Rows
    let cp = padded m
    let coords = Array.zeroCreate (d * cp)
    for j in 0 .. m - 1 do
        for k in 0 .. d - 1 do
            coords.[k * cp + j] <- colPts.[j, k]
    { Rows = rowPts.Rows; Cols = m; ColsPadded = cp; Dim = d
      RowPoints = Array.copy rowPts.Data; ColCoords = coords; CostRows = null }

let layoutOfCost (cost: Matrix) =
    let cp = padded cost.Cols
    let rows = Array.zeroCreate (cost.Rows * cp)
    for i in 0 .. cost.Rows - 1 do
        Array.blit cost.Data (i * cost.Cols) rows (i * cp) cost.Cols
    { Rows = cost.Rows; Cols = cost.Cols; ColsPadded = cp; Dim = 0
      RowPoints = null; ColCoords = null; CostRows = rows }

/// Per-row scratch: the row's coordinates broadcast to vectors.
let private broadcastRow (l: CostLayout) (i: int) (xb: Vector<float>[]) =
    if not (isNull l.RowPoints) then
        for k in 0 .. l.Dim - 1 do
            xb.[k] <- Vector<float>(l.RowPoints.[i * l.Dim + k])

/// C_ij for the lanes starting at padded column j.
let inline private costAt (l: CostLayout) (xb: Vector<float>[]) (i: int) (j: int) =
    if isNull l.CostRows then
        let mutable acc = Vector<float>.Zero
        for k in 0 .. l.Dim - 1 do
            let t = Vector<float>(l.ColCoords, k * l.ColsPadded + j) - xb.[k]
            acc <- acc + t * t
        acc
    else
        Vector<float>(l.CostRows, i * l.ColsPadded + j)

/// colTerm_j = other_j/ε + logW_j over padded columns (−∞ on the padding), written into `t`.
let columnTermInto (l: CostLayout) (eps: float) (other: float[]) (logW: float[]) (t: float[]) =
    for j in 0 .. l.Cols - 1 do
        t.[j] <- other.[j] / eps + logW.[j]
    for j in l.Cols .. l.ColsPadded - 1 do
        t.[j] <- Double.NegativeInfinity

/// colTerm_j = other_j/ε + logW_j over padded columns, freshly allocated.
let columnTerm (l: CostLayout) (eps: float) (other: float[]) (logW: float[]) =
    let t = Array.zeroCreate l.ColsPadded
    columnTermInto l eps other logW t
    t

/// What one thread needs to stream a range of rows: the row's coordinates broadcast to vectors and
/// one tile of exponents, sized to the problem (a 64-column problem needs 512 bytes, not a whole tile).
type RowScratch =
    { Broadcast: Vector<float>[]
      Tile: float[] }

let newScratch (l: CostLayout) =
    { Broadcast = Array.zeroCreate (max 1 l.Dim); Tile = Array.zeroCreate (min tileWidth l.ColsPadded) }

/// Whether a pass over l is worth spreading over threads.
let private worthThreads (l: CostLayout) = int64 l.Rows * int64 l.ColsPadded >= int64 parallelThreshold

let private forRows (l: CostLayout) (scratch: RowScratch) (cancellation: Threading.CancellationToken) (body: int -> int -> RowScratch -> unit) =
    if not (worthThreads l) then body 0 l.Rows scratch
    else
        let chunks = (l.Rows + rowsPerTask - 1) / rowsPerTask
        let work c (s: RowScratch) =
            body (c * rowsPerTask) (min l.Rows ((c + 1) * rowsPerTask)) s
            s
        // Cancellation is checked between blocks of rows: a half-step of a large problem stops within one block.
        Parallel.For(0, chunks, Parallelism.options cancellation, Func<_>(fun () -> newScratch l),
                     Func<int, ParallelLoopState, _, _>(fun c _ s -> work c s), Action<_>(ignore))
        |> ignore

/// result_i = −ε LSE_j(colTerm_j − C_ij/ε) for rows lo … hi−1, streamed over tiles with a running max
/// and a rescaled sum.
let private softminRows (l: CostLayout) (eps: float) (colTerm: float[]) (result: float[]) lo hi (scratch: RowScratch) =
    let invEps = Vector<float>(1.0 / eps)
    let xb, z = scratch.Broadcast, scratch.Tile
    let width = z.Length
    for i in lo .. hi - 1 do
        broadcastRow l i xb
        let mutable runMax = Double.NegativeInfinity
        let mutable runSum = 0.0
        let mutable t0 = 0
        while t0 < l.ColsPadded do
            let t1 = min l.ColsPadded (t0 + width)
            let mutable vmax = Vector<float>(Double.NegativeInfinity)
            let mutable j = t0
            while j < t1 do
                let zj = Vector<float>(colTerm, j) - costAt l xb i j * invEps
                zj.CopyTo(z, j - t0)
                vmax <- Vector.Max(vmax, zj)
                j <- j + lanes
            let mutable tmax = Double.NegativeInfinity
            for q in 0 .. lanes - 1 do tmax <- max tmax vmax.[q]
            if tmax > Double.NegativeInfinity then
                let shift = Vector<float>(tmax)
                let mutable vs = Vector<float>.Zero
                let mutable vs2 = Vector<float>.Zero
                let mutable q = 0
                // Two independent exponentials per step: their long FMA chains overlap.
                while q + 2 * lanes <= t1 - t0 do
                    vs <- vs + SimdMath.exp(Vector<float>(z, q) - shift)
                    vs2 <- vs2 + SimdMath.exp(Vector<float>(z, q + lanes) - shift)
                    q <- q + 2 * lanes
                if q < t1 - t0 then vs <- vs + SimdMath.exp(Vector<float>(z, q) - shift)
                let s = Vector.Sum(vs + vs2)
                if tmax > runMax then
                    runSum <- runSum * exp (runMax - tmax) + s
                    runMax <- tmax
                else
                    runSum <- runSum + s * exp (tmax - runMax)
            t0 <- t1
        result.[i] <- -eps * (runMax + log runSum)

/// result_i = −ε LSE_j(colTerm_j − C_ij/ε). A pass too small to parallelise runs on the caller's
/// scratch and allocates nothing.
let softmin (l: CostLayout) (eps: float) (colTerm: float[]) (result: float[]) (scratch: RowScratch) (cancellation: Threading.CancellationToken) =
    if not (worthThreads l) then softminRows l eps colTerm result 0 l.Rows scratch
    else forRows l scratch cancellation (fun lo hi s -> softminRows l eps colTerm result lo hi s)

/// out_i,q = Σ_j exp(rowTerm_i + colTerm_j − C_ij/ε) · (C_ij if weighted) · vT[q, j],
/// vT being the k vectors laid out q-major over padded columns.
let apply (l: CostLayout) (eps: float) (rowTerm: float[]) (colTerm: float[]) (vT: float[]) (k: int) (weighted: bool) =
    let invEps = Vector<float>(1.0 / eps)
    let out = Array.zeroCreate (l.Rows * k)
    forRows l (newScratch l) Threading.CancellationToken.None (fun lo hi scratch ->
        let xb = scratch.Broadcast
        let acc = Array.zeroCreate<Vector<float>> k
        for i in lo .. hi - 1 do
            broadcastRow l i xb
            Array.fill acc 0 k Vector<float>.Zero
            let rt = Vector<float>(rowTerm.[i])
            let mutable j = 0
            while j < l.ColsPadded do
                let c = costAt l xb i j
                let p = SimdMath.exp(Vector<float>(colTerm, j) + rt - c * invEps)
                let w = if weighted then p * c else p
                for q in 0 .. k - 1 do
                    acc.[q] <- acc.[q] + w * Vector<float>(vT, q * l.ColsPadded + j)
                j <- j + lanes
            for q in 0 .. k - 1 do
                out.[i * k + q] <- Vector.Sum acc.[q])
    Matrix(l.Rows, k, out)

/// P_ij = exp(rowTerm_i + colTerm_j − C_ij/ε), materialised (Rows × Cols).
let plan (l: CostLayout) (eps: float) (rowTerm: float[]) (colTerm: float[]) =
    let invEps = Vector<float>(1.0 / eps)
    let out = Array.zeroCreate (l.Rows * l.Cols)
    forRows l (newScratch l) Threading.CancellationToken.None (fun lo hi scratch ->
        let xb, buf = scratch.Broadcast, scratch.Tile
        for i in lo .. hi - 1 do
            broadcastRow l i xb
            let rt = Vector<float>(rowTerm.[i])
            let mutable t0 = 0
            while t0 < l.ColsPadded do
                let t1 = min l.ColsPadded (t0 + buf.Length)
                let mutable j = t0
                while j < t1 do
                    SimdMath.exp(Vector<float>(colTerm, j) + rt - costAt l xb i j * invEps).CopyTo(buf, j - t0)
                    j <- j + lanes
                let count = min (t1 - t0) (l.Cols - t0)
                if count > 0 then Array.blit buf 0 out (i * l.Cols + t0) count
                t0 <- t1)
    Matrix(l.Rows, l.Cols, out)
