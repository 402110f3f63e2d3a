namespace OtNative.Core

open System
open System.Buffers

/// A half-step's column term and exact-path tile, rented from the shared pool.
[<Sealed; AllowNullLiteral>]
type internal HalfStepBuffers(term: float[], tile: float[]) =
    member _.Term = term
    member _.Tile = tile

/// The CPU problem at one register width 'V: both sides' SIMD layouts and the log-weights, built once. The log-weights
/// and a small point-cloud problem's tabulated costs live in pooled arrays, returned when the operator is disposed; a
/// disposed operator refuses further work.
[<Sealed>]
type internal CpuTransportOperator<'V when 'V :> ILanes<'V> and 'V: struct>(problem: OtProblem, backend: IBackend) =
    let pool = ArrayPool<float>.Shared
    let logOf (w: float[]) =
        let logW = pool.Rent w.Length
        for i in 0 .. w.Length - 1 do logW.[i] <- log w.[i]
        logW
    let logA = logOf problem.A
    let logB = logOf problem.B
    let lanes = 'V.Count
    let tabulated, (rowsLayout, colsLayout) =
        match problem.Geometry with
        | PointClouds (x, y) when int64 x.Rows * int64 y.Rows <= int64 CpuKernels.tabulatedPairs ->
            true, CpuKernels.tabulatedLayoutsOfPoints lanes x y
        | PointClouds (x, y) -> false, (CpuKernels.layoutOfPoints lanes x y, CpuKernels.layoutOfPoints lanes y x)
        | CostMatrix c -> false, (CpuKernels.layoutOfCost lanes c, CpuKernels.layoutOfCost lanes (c.Transpose()))
        // Small problems under another cost are tabulated as a cost matrix (evaluated once, pair by pair).
        | CloudsWithCost (x, y, _) when int64 x.Rows * int64 y.Rows <= int64 CpuKernels.tabulatedPairs ->
            let c = OtProblem.costMatrix problem
            false, (CpuKernels.layoutOfCost lanes c, CpuKernels.layoutOfCost lanes (c.Transpose()))
        | CloudsWithCost (x, y, cost) -> false, CpuKernels.layoutsOfCloudsWithCost lanes x y cost
    // 1 once disposed; set by one atomic exchange, so two Dispose calls cannot both return the pooled arrays.
    let mutable disposed = 0
    let live () = if Threading.Volatile.Read(&disposed) = 1 then raise (ObjectDisposedException("CpuTransportOperator", "This prepared problem was disposed (with the plan that owned it); solve again."))

    /// The layout reducing over `side`'s opposite index, with the row and column log-weights.
    let oriented side =
        match side with
        | Rows -> rowsLayout, logA, logB
        | Cols -> colsLayout, logB, logA

    /// Runs `pass` on a pass's temporary inputs, rented from the shared pool and returned after it: the row term
    /// rowTerm_i = pot_i/ε + log w_i (the plan's row factor in the exponent), the column term, and k vectors over the
    /// opposite side's points as padded rows, written by `fill vt cp` into zeros (cp = the padded row length). A small
    /// problem's derivatives then allocate only their results.
    let withTerms (l: CpuKernels.CostLayout) eps (rowPot: float[]) (logRows: float[]) (colPot: float[]) (logCols: float[]) k fill pass =
        let rowTerm = pool.Rent l.Rows
        let colTerm = pool.Rent l.ColsPadded
        let vt = if k = 0 then Array.Empty() else pool.Rent(k * l.ColsPadded)
        try
            for i in 0 .. l.Rows - 1 do rowTerm.[i] <- rowPot.[i] / eps + logRows.[i]
            CpuKernels.columnTermInto l eps colPot logCols colTerm
            Array.fill vt 0 (k * l.ColsPadded) 0.0
            fill vt l.ColsPadded
            pass rowTerm colTerm vt
        finally
            pool.Return rowTerm
            pool.Return colTerm
            if k > 0 then pool.Return vt

    /// V's k columns as padded rows of vt.
    let columnsOf (v: Matrix) (vt: float[]) cp =
        for j in 0 .. v.Rows - 1 do
            for q in 0 .. v.Cols - 1 do
                vt.[q * cp + j] <- v.[j, q]

    /// A padded row of ones over the first `count` entries of vt.
    let ones count (vt: float[]) (_: int) = Array.fill vt 0 count 1.0

    // Each side's column term and tile, rented once and kept across half-steps so that a solve's loop neither
    // allocates nor rents (renting per half-step cost 2-3 % of a 64 × 64 batch). A half-step that finds them taken
    // (another thread is mid-step on this operator) rents its own: borrowing is an atomic exchange.
    let halfStepBuffers (l: CpuKernels.CostLayout) = HalfStepBuffers(pool.Rent l.ColsPadded, pool.Rent(CpuKernels.tileLength l))
    let rowsBuffers = ref (halfStepBuffers rowsLayout)
    let colsBuffers = ref (halfStepBuffers colsLayout)
    let release (buffers: HalfStepBuffers) =
        if not (isNull buffers) then
            pool.Return buffers.Term
            pool.Return buffers.Tile

    /// One half-step, its exponentials in float32 when `mixed`.
    let halfStep mixed side eps (other: float[]) (result: float[]) cancellation =
        live ()
        let l, logCols, slot = match side with Rows -> rowsLayout, logB, rowsBuffers | Cols -> colsLayout, logA, colsBuffers
        let held = Threading.Interlocked.Exchange(&slot.contents, null)
        let buffers = if isNull held then halfStepBuffers l else held
        try
            CpuKernels.columnTermInto l eps other logCols buffers.Term
            CpuKernels.softmin<'V> l eps buffers.Term result buffers.Tile mixed cancellation
        finally
            if isNull held then release buffers else slot.Value <- buffers

    interface ITransportOperator with
        member _.Problem = problem
        member _.Backend = backend

        member _.Softmin(side, eps, other, result, cancellation) = halfStep false side eps other result cancellation

        member _.Apply(side, eps, f, g, v, costWeighted) =
            live ()
            let l, logRows, logCols = oriented side
            let rowPot, colPot = (match side with Rows -> f, g | Cols -> g, f)
            Validation.shape "v" l.Cols v.Cols v
            let out = Array.zeroCreate (l.Rows * v.Cols)
            withTerms l eps rowPot logRows colPot logCols v.Cols (columnsOf v) (fun rowTerm colTerm vt -> CpuKernels.applyInto<'V> l eps rowTerm colTerm vt v.Cols costWeighted out Threading.CancellationToken.None)
            Matrix(l.Rows, v.Cols, out)

        member _.Plan(eps, f, g) =
            live ()
            withTerms rowsLayout eps f logA g logB 0 (fun _ _ -> ()) (fun rowTerm colTerm _ -> CpuKernels.plan<'V> rowsLayout eps rowTerm colTerm)

        // Disposing while another thread works on the operator is a caller's error, as for any IDisposable; the slots are
        // emptied atomically so that a half-step finishing meanwhile rents afresh instead of reusing returned buffers.
        member _.Dispose() =
            if Threading.Interlocked.Exchange(&disposed, 1) = 0 then
                pool.Return logA
                pool.Return logB
                release (Threading.Interlocked.Exchange(&rowsBuffers.contents, null))
                release (Threading.Interlocked.Exchange(&colsBuffers.contents, null))
                if tabulated then
                    pool.Return rowsLayout.CostRows
                    pool.Return colsLayout.CostRows

    interface IMixedHalfStep with
        member _.SoftminMixed(side, eps, other, result, cancellation) = halfStep true side eps other result cancellation
        member _.Worthwhile = CpuKernels.mixedWorthwhile problem.N problem.M

    interface IMomentPasses with
        member _.RowMoments(eps, f, g, targets, rowMass, transported, cancellation) =
            live ()
            let n, m = problem.N, problem.M
            let d = if isNull targets then 0 else targets.Cols
            if not (isNull targets) then Validation.shape "targets" m d targets
            if rowMass.Length <> n || transported.Length <> n * d then
                invalidArg "rowMass" (sprintf "The moments of %d rows need %d and %d entries, not %d and %d." n n (n * d) rowMass.Length transported.Length)
            // The columns [1 | targets]: one pass gives both.
            let fill (vt: float[]) cp =
                Array.fill vt 0 m 1.0
                for j in 0 .. m - 1 do
                    for q in 0 .. d - 1 do
                        vt.[(q + 1) * cp + j] <- targets.[j, q]
            let k = d + 1
            let out = pool.Rent(n * k)
            try
                withTerms rowsLayout eps f logA g logB k fill (fun rowTerm colTerm vt -> CpuKernels.applyInto<'V> rowsLayout eps rowTerm colTerm vt k false out cancellation)
                for i in 0 .. n - 1 do
                    rowMass.[i] <- out.[i * k]
                    for q in 0 .. d - 1 do transported.[i * d + q] <- out.[i * k + q + 1]
            finally pool.Return out

        member _.ColumnMass(eps, f, g, columnMass, cancellation) =
            live ()
            if columnMass.Length <> problem.M then invalidArg "columnMass" (sprintf "columnMass has %d entries for %d columns." columnMass.Length problem.M)
            withTerms colsLayout eps g logB f logA 1 (ones problem.N) (fun rowTerm colTerm vt -> CpuKernels.applyInto<'V> colsLayout eps rowTerm colTerm vt 1 false columnMass cancellation)

    interface ICoupledApply with
        member _.Coupled(eps, f, g, rowWeights, v, cancellation) =
            live ()
            Validation.shape "v" problem.M v.Cols v
            if rowWeights.Length <> problem.N then invalidArg "rowWeights" (sprintf "rowWeights has %d entries for %d rows." rowWeights.Length problem.N)
            let k = v.Cols
            let cp = rowsLayout.ColsPadded
            let packed = withTerms rowsLayout eps f logA g logB k (columnsOf v) (fun rowTerm colTerm vt -> CpuKernels.coupled<'V> rowsLayout eps rowTerm colTerm vt k rowWeights cancellation)
            Matrix(problem.M, k, Array.init (problem.M * k) (fun t -> packed.[(t % k) * cp + t / k]))

/// The reference backend: defines the semantics every other backend must reproduce. Its streamed kernels run at one
/// SIMD width (by default the widest the processor executes, or OTNATIVE_SIMD's); its dense linear algebra is a CPU
/// provider (native LAPACK/BLAS or managed Math.NET).
[<Sealed>]
type CpuBackend(linearAlgebra: ILinearAlgebra, width: SimdWidth) =
    static let instance = lazy CpuBackend(LinearAlgebraProviders.preferred)
    static let managed = lazy CpuBackend(LinearAlgebraProviders.managed)

    /// At the configured width (Simd.configured).
    new(linearAlgebra) = CpuBackend(linearAlgebra, Simd.configured.Value)

    /// The shared instance on the preferred provider (native unless OTNATIVE_LINALG=managed), at the configured width.
    static member Instance = instance.Value

    /// The shared instance on the managed Math.NET provider.
    static member Managed = managed.Value

    /// The register width of the streamed kernels.
    member _.Width = width

    /// The width for host-side passes over the results of work on `backend` (a solve's row error, the dense Hessian's
    /// block diagonal): a CPU backend's own, so that a solve forced to a width runs at it throughout; else the
    /// configured one.
    static member HostWidth(backend: IBackend) =
        match backend with
        | :? CpuBackend as cpu -> cpu.Width
        | _ -> Simd.configured.Value

    interface IBackend with
        member _.Name = "cpu"
        member _.IsAvailable = true
        member _.Description =
            sprintf "CPU, %d threads, SIMD %s; linear algebra %s" (Parallelism.degree ()) (Simd.describe width) linearAlgebra.Name
        member _.LinearAlgebra = linearAlgebra
        member _.Supports _ = Supported
        member this.Prepare problem =
            Simd.run width
                { new IWidthGeneric<ITransportOperator> with
                    member _.Invoke<'V when 'V :> ILanes<'V> and 'V: struct>() =
                        new CpuTransportOperator<'V>(problem, this) :> ITransportOperator }
