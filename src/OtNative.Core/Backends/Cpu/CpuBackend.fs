namespace OtNative.Core

open System

/// The CPU problem at one register width 'V: both sides' SIMD layouts and the log-weights, built once.
[<Sealed>]
type internal CpuTransportOperator<'V when 'V :> ILanes<'V> and 'V: struct>(problem: OtProblem, backend: IBackend) =
    let logA = Array.map log problem.A
    let logB = Array.map log problem.B
    let lanes = 'V.Count
    let rowsLayout, colsLayout =
        match problem.Geometry with
        | PointClouds (x, y) -> CpuKernels.layoutOfPoints lanes x y, CpuKernels.layoutOfPoints lanes y x
        | CostMatrix c -> CpuKernels.layoutOfCost lanes c, CpuKernels.layoutOfCost lanes (c.Transpose())

    /// The layout reducing over `side`'s opposite index, with the row and column log-weights.
    let oriented side =
        match side with
        | Rows -> rowsLayout, logA, logB
        | Cols -> colsLayout, logB, logA

    // Each side's column term and row scratch, kept across half-steps so that a solve's loop allocates
    // nothing. A caller that finds a buffer taken (another thread is mid-step on this operator) uses a
    // fresh one: borrowing is an atomic exchange, so concurrent use stays correct.
    let rowsTerm = ref (Array.zeroCreate<float> rowsLayout.ColsPadded)
    let colsTerm = ref (Array.zeroCreate<float> colsLayout.ColsPadded)
    let rowsScratch = ref (CpuKernels.newScratch rowsLayout)
    let colsScratch = ref (CpuKernels.newScratch colsLayout)
    let take (slot: 'T ref) = Threading.Interlocked.Exchange(&slot.contents, Unchecked.defaultof<'T>)

    /// V (count × k, count = the opposite side's size) as k padded coordinate rows.
    let transposePadded (l: CpuKernels.CostLayout) (v: Matrix) =
        let k = v.Cols
        let vt = Array.zeroCreate (k * l.ColsPadded)
        for j in 0 .. v.Rows - 1 do
            for q in 0 .. k - 1 do
                vt.[q * l.ColsPadded + j] <- v.[j, q]
        vt

    /// rowTerm_i = pot_i/ε + log w_i, the plan's row factor in the exponent.
    let rowTerm (pot: float[]) (logW: float[]) (eps: float) = Array.init logW.Length (fun i -> pot.[i] / eps + logW.[i])

    /// One half-step, its exponentials in float32 when `mixed`.
    let halfStep mixed side eps (other: float[]) (result: float[]) cancellation =
        let l, logCols, termSlot, scratchSlot =
            match side with
            | Rows -> rowsLayout, logB, rowsTerm, rowsScratch
            | Cols -> colsLayout, logA, colsTerm, colsScratch
        let term = match take termSlot with null -> Array.zeroCreate l.ColsPadded | held -> held
        let scratch = take scratchSlot
        let scratch = if obj.ReferenceEquals(scratch, null) then CpuKernels.newScratch l else scratch
        CpuKernels.columnTermInto l eps other logCols term
        CpuKernels.softmin<'V> l eps term result scratch mixed cancellation
        termSlot.Value <- term
        scratchSlot.Value <- scratch

    interface ITransportOperator with
        member _.Problem = problem
        member _.Backend = backend

        member _.Softmin(side, eps, other, result, cancellation) = halfStep false side eps other result cancellation

        member _.Apply(side, eps, f, g, v, costWeighted) =
            let l, logRows, logCols = oriented side
            let rowPot, colPot = (match side with Rows -> f, g | Cols -> g, f)
            Validation.shape "v" l.Cols v.Cols v
            CpuKernels.apply<'V> l eps (rowTerm rowPot logRows eps) (CpuKernels.columnTerm l eps colPot logCols) (transposePadded l v) v.Cols costWeighted

        member _.Plan(eps, f, g) =
            CpuKernels.plan<'V> rowsLayout eps (rowTerm f logA eps) (CpuKernels.columnTerm rowsLayout eps g logB)

        member _.Dispose() = ()

    interface IMixedHalfStep with
        member _.SoftminMixed(side, eps, other, result, cancellation) = halfStep true side eps other result cancellation
        member _.Worthwhile = CpuKernels.mixedWorthwhile problem.N problem.M

    interface ICoupledApply with
        member _.Coupled(eps, f, g, rowWeights, v, cancellation) =
            Validation.shape "v" problem.M v.Cols v
            if rowWeights.Length <> problem.N then invalidArg "rowWeights" (sprintf "rowWeights has %d entries for %d rows." rowWeights.Length problem.N)
            let k = v.Cols
            let cp = rowsLayout.ColsPadded
            let packed =
                CpuKernels.coupled<'V> rowsLayout eps (rowTerm f logA eps) (CpuKernels.columnTerm rowsLayout eps g logB) (transposePadded rowsLayout v) k rowWeights
                    cancellation
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
            sprintf "CPU, %d threads, SIMD %s; linear algebra %s" Parallelism.degree (Simd.describe width) linearAlgebra.Name
        member _.LinearAlgebra = linearAlgebra
        member _.Supports _ = Supported
        member this.Prepare problem =
            Simd.run width
                { new IWidthGeneric<ITransportOperator> with
                    member _.Invoke<'V when 'V :> ILanes<'V> and 'V: struct>() =
                        new CpuTransportOperator<'V>(problem, this) :> ITransportOperator }
