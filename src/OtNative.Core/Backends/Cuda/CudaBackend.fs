namespace OtNative.Core

open System
open System.IO
open OtNative.Interop

/// The kernels of `native/transport.cu` (with the derivative and batched ones it includes), loaded for one device.
type internal CudaKernelSet =
    { Module: CudaModule
      Softmin: CudaKernel
      Apply: CudaKernel
      Plan: CudaKernel
      PairContract: CudaKernel
      PairDot: CudaKernel
      PairOuter: CudaKernel
      RTensor: CudaKernel
      SoftminBatched: CudaKernel
      /// Where the code came from: OTNATIVE_KERNELS, the prebuilt fatbin, or NVRTC.
      Origin: string }

/// Finds the kernels as docs/architecture.md says: (1) the file named by OTNATIVE_KERNELS, (2) `otnative_kernels.fatbin`
/// next to the assembly (built by CMakeLists.txt where nvcc exists), (3) NVRTC compiling the embedded sources
/// for the device's compute capability.
module internal CudaKernelLoader =
    let private bundled = Path.Combine(AppContext.BaseDirectory, "otnative_kernels.fatbin")

    let load (context: CudaContext) =
        context.MakeCurrent()
        let m, origin =
            match Environment.GetEnvironmentVariable "OTNATIVE_KERNELS" with
            | path when not (String.IsNullOrEmpty path) ->
                if not (File.Exists path) then raise (FileNotFoundException(sprintf "OTNATIVE_KERNELS names %s, which does not exist." path, path))
                CudaModule.Load(File.ReadAllBytes path), sprintf "OTNATIVE_KERNELS=%s" path
            | _ when File.Exists bundled -> CudaModule.Load(File.ReadAllBytes bundled), bundled
            | _ ->
                if not Nvrtc.IsAvailable then
                    raise (NotSupportedException(sprintf "No CUDA kernels: no OTNATIVE_KERNELS, no %s, and %s." bundled Nvrtc.Description))
                let arch = context.Device.VirtualArchitecture
                let ptx = (KernelSources.CompileAll arch).["transport.cu"]
                CudaModule.LoadPtx ptx, sprintf "NVRTC (%s, %s)" Nvrtc.Description arch
        { Module = m; Softmin = m.Kernel "otn_softmin"; Apply = m.Kernel "otn_apply"; Plan = m.Kernel "otn_plan"
          PairContract = m.Kernel "otn_pair_contract"; PairDot = m.Kernel "otn_pair_dot"; PairOuter = m.Kernel "otn_pair_outer"
          RTensor = m.Kernel "otn_r_tensor"; SoftminBatched = m.Kernel "otn_softmin_batched"; Origin = origin }

/// A point-cloud problem on the GPU: both clouds uploaded once; every primitive streams the cost in tiles.
[<Sealed>]
type internal CudaTransportOperator(problem: OtProblem, backend: IBackend, context: CudaContext, kernels: CudaKernelSet) =
    static let block = 128u
    /// Values per column point one launch streams through shared memory (`OTN_MAX_COLUMNS`), and per-thread
    /// accumulators a launch may keep (`OTN_MAX_ACC`).
    static let maxColumns = 16
    static let maxAccumulators = 32
    let x, y =
        match problem.Geometry with
        | PointClouds (x, y) -> x, y
        | CostMatrix _ -> raise (NotSupportedException "The CUDA backend takes point clouds only: Softmin/Apply/Plan on a cost matrix are CPU operations.")
        | CloudsWithCost (_, _, cost) -> raise (NotSupportedException(sprintf "The CUDA kernels evaluate the squared Euclidean cost only, not %s: solve it on the CPU." cost.Name))
    do context.MakeCurrent()
    let xs = DeviceBuffer<float>.Upload(ReadOnlySpan x.Data)
    let ys = DeviceBuffer<float>.Upload(ReadOnlySpan y.Data)
    let logA = Array.map log problem.A
    let logB = Array.map log problem.B
    let d = x.Cols

    /// Row points, column points, their counts and log-weights for a side.
    let oriented side =
        match side with
        | Rows -> xs, ys, problem.N, problem.M, logA, logB
        | Cols -> ys, xs, problem.M, problem.N, logB, logA

    let grid count = uint ((count + int block - 1) / int block)

    // Device scratch kept across calls, keyed by role and length: a Sinkhorn or CG loop calls the same
    // primitives with the same sizes every iteration (the two half-steps alternating n and m), and
    // cuMemAlloc/cuMemFree per half-step would cost more than the transfer.
    let scratch = Collections.Generic.Dictionary<struct (string * int), DeviceBuffer<float>>()
    let buffer role length =
        match scratch.TryGetValue(struct (role, length)) with
        | true, b -> b
        | _ ->
            let fresh = DeviceBuffer<float>.Allocate length
            scratch.[struct (role, length)] <- fresh
            fresh
    let upload role (values: float[]) =
        let b = buffer role values.Length
        b.CopyFrom(ReadOnlySpan values)
        b
    /// The potentials whose terms each side's buffers hold: a solved plan's products (the measuring passes, every CG
    /// iteration of an HVP, the dense Hessian's blocks) ask again and again for the same f and g, which then stay on the
    /// device instead of being uploaded for every call. Compared by value, so a caller that changes its arrays in place
    /// gets fresh terms.
    let held = Collections.Generic.Dictionary<Side, struct (float * float[] * float[])>()
    /// The row and column terms f/ε + log a and g/ε + log b of a side, uploaded unless they are already there.
    let terms side eps (f: float[]) (g: float[]) =
        let _, _, nRows, nCols, logRows, logCols = oriented side
        let rowPot, colPot = (match side with Rows -> f, g | Cols -> g, f)
        let roles = (match side with Rows -> "heldRowTerm:rows", "heldColTerm:rows" | Cols -> "heldRowTerm:cols", "heldColTerm:cols")
        let rowRole, colRole = roles
        match held.TryGetValue side with
        | true, struct (e, hf, hg) when e = eps && MemoryExtensions.SequenceEqual(ReadOnlySpan hf, ReadOnlySpan f)
                                        && MemoryExtensions.SequenceEqual(ReadOnlySpan hg, ReadOnlySpan g) ->
            buffer rowRole nRows, buffer colRole nCols
        | _ ->
            // Forgotten first: an upload that fails half-way must not leave the old potentials named as held.
            held.Remove side |> ignore
            let terms =
                upload rowRole (Array.init nRows (fun i -> rowPot.[i] / eps + logRows.[i])),
                upload colRole (Array.init nCols (fun j -> colPot.[j] / eps + logCols.[j]))
            held.[side] <- struct (eps, Array.copy f, Array.copy g)
            terms
    /// `launch c0 kc` for the chunks of at most `chunk` of k column groups, each returning nRows × kc·width doubles
    /// (downloaded), assembled into nRows × k·width.
    let inChunks nRows k chunk width (launch: int -> int -> float[]) =
        let out = Matrix.Zeros(nRows, k * width)
        for c0 in 0 .. chunk .. k - 1 do
            let kc = min chunk (k - c0)
            let host = launch c0 kc
            for i in 0 .. nRows - 1 do Array.blit host (i * kc * width) out.Data (i * k * width + c0 * width) (kc * width)
        out
    /// Columns c0·width … (c0 + kc)·width of v, row-major, uploaded.
    let uploadColumns (v: Matrix) c0 kc width =
        let w = kc * width
        upload "v" (Array.init (v.Rows * w) (fun t -> v.[t / w, c0 * width + t % w]))

    interface ITransportOperator with
        member _.Problem = problem
        member _.Backend = backend

        member _.Softmin(side, eps, other, result, cancellation) =
            cancellation.ThrowIfCancellationRequested()
            context.MakeCurrent()
            let rows, cols, nRows, nCols, _, logCols = oriented side
            let term = upload "colTerm" (Array.init nCols (fun j -> other.[j] / eps + logCols.[j]))
            let out = buffer "rowOut" nRows
            kernels.Softmin.Launch(grid nRows, block, context.Stream, rows, cols, term, nRows, nCols, d, eps, out)
            Array.blit (out.Download()) 0 result 0 nRows

        member _.Apply(side, eps, f, g, v, costWeighted) =
            context.MakeCurrent()
            let rows, cols, nRows, nCols, _, _ = oriented side
            Validation.shape "v" nCols v.Cols v
            let rt, ct = terms side eps f g
            inChunks nRows v.Cols maxColumns 1 (fun c0 k ->
                let res = buffer "out" (nRows * k)
                kernels.Apply.Launch(grid nRows, block, context.Stream, rows, cols, rt, ct, uploadColumns v c0 k 1, nRows, nCols, d, k, eps, (if costWeighted then 1 else 0), res)
                res.Download())

        member _.Plan(eps, f, g) =
            context.MakeCurrent()
            let n, m = problem.N, problem.M
            let rt, ct = terms Rows eps f g
            // The n×m plan is asked for once per dense Hessian: not worth keeping on the device.
            use out = DeviceBuffer<float>.Allocate(n * m)
            kernels.Plan.Launch(uint ((int64 n * int64 m + int64 block - 1L) / int64 block), block, context.Stream, xs, ys, rt, ct, n, m, d, eps, out)
            Matrix(n, m, out.Download())

        member _.Dispose() =
            xs.Dispose()
            ys.Dispose()
            for b in scratch.Values do b.Dispose()
            scratch.Clear()
            held.Clear()

    // The derivative kernels of native/derivatives.cuh; semantics: `PairContractions.reference`.
    interface IPairContractions with
        member _.ContractRows(eps, f, g, w) =
            context.MakeCurrent()
            Validation.shape "w" problem.M w.Cols w
            let rt, ct = terms Rows eps f g
            let n, m = problem.N, problem.M
            inChunks n w.Cols (min maxColumns (maxAccumulators / (d + 1))) (d + 1) (fun c0 k ->
                let res = buffer "out" (n * k * (d + 1))
                kernels.PairContract.Launch(grid n, block, context.Stream, xs, ys, rt, ct, uploadColumns w c0 k 1, n, m, d, k, eps, res)
                res.Download())
        member _.DotCols(eps, f, g, v) =
            context.MakeCurrent()
            let rt, ct = terms Cols eps f g
            let n, m = problem.N, problem.M
            // From the column side the kernel's difference is y_j − x_i: negated below.
            let out =
                inChunks m (v.Cols / d) (maxColumns / d) 1 (fun c0 k ->
                    let res = buffer "out" (m * k)
                    kernels.PairDot.Launch(grid m, block, context.Stream, ys, xs, rt, ct, uploadColumns v c0 k d, m, n, d, k, eps, res)
                    res.Download())
            Matrix(out.Rows, out.Cols, Array.map (fun t -> -t) out.Data)
        member _.OuterRows(eps, f, g, a) =
            context.MakeCurrent()
            let rt, ct = terms Rows eps f g
            let n, m = problem.N, problem.M
            inChunks n (a.Cols / d) (maxAccumulators / d) d (fun c0 k ->
                let res = buffer "out" (n * k * d)
                kernels.PairOuter.Launch(grid n, block, context.Stream, xs, ys, rt, ct, uploadColumns a c0 k d, n, m, d, k, eps, res)
                res.Download())
        member _.RBlock(eps, f, g, gOverR, scale) =
            context.MakeCurrent()
            let rt, ct = terms Rows eps f g
            let n, m = problem.N, problem.M
            let ratios = upload "gOverR" gOverR
            // m × n·d, asked for once per dense Hessian: not kept on the device.
            use out = DeviceBuffer<float>.Allocate(n * m * d)
            kernels.RTensor.Launch(uint ((int64 n * int64 m + int64 block - 1L) / int64 block), block, context.Stream, xs, ys, rt, ct, ratios, n, m, d, eps, scale, out)
            Matrix(m, n * d, out.Download())

/// A batch of point-cloud problems of one dimension on the GPU, for one `otn_softmin_batched` launch per half-step
/// of all of them (a launch per problem leaves most of the device idle at n ≈ 100).
[<Sealed>]
type CudaBatchOperator internal (problems: OtProblem[], context: CudaContext, kernels: CudaKernelSet) =
    static let block = 128
    do
        if isNull problems || problems.Length = 0 then invalidArg "problems" "a batch needs at least one problem."
        problems |> Array.iteri (fun k p ->
            match p.Geometry with
            | CostMatrix _ -> invalidArg "problems" (sprintf "problems[%d] is a cost matrix; the CUDA kernels take point clouds." k)
            | CloudsWithCost (_, _, cost) -> invalidArg "problems" (sprintf "problems[%d] has the cost %s; the CUDA kernels evaluate the squared Euclidean one." k cost.Name)
            | PointClouds _ -> ())
    let d = problems.[0].X.Cols
    let layout = CudaBatchLayout.create block (problems |> Array.map (fun p -> p.N)) (problems |> Array.map (fun p -> p.M))
    let transposed = CudaBatchLayout.transposed layout
    do context.MakeCurrent()
    let xs = DeviceBuffer<float>.Upload(ReadOnlySpan(CudaBatchLayout.concatenate (problems |> Array.map (fun p -> p.X))))
    let ys = DeviceBuffer<float>.Upload(ReadOnlySpan(CudaBatchLayout.concatenate (problems |> Array.map (fun p -> p.Y))))
    let tables (l: CudaBatchLayout) =
        [| l.RowStart; l.ColStart; l.BlockProblem; l.BlockRow |] |> Array.map (fun t -> DeviceBuffer<int>.Upload(ReadOnlySpan t))
    let rowTables, colTables = tables layout, tables transposed
    let logA = problems |> Array.map (fun p -> Array.map log p.A)
    let logB = problems |> Array.map (fun p -> Array.map log p.B)
    // Kept across half-steps: a Sinkhorn loop calls the two sides alternately with the same sizes.
    let totalN, totalM = layout.RowStart.[problems.Length], layout.ColStart.[problems.Length]
    let epsBuffer = DeviceBuffer<float>.Allocate problems.Length
    let terms = [| DeviceBuffer<float>.Allocate totalM; DeviceBuffer<float>.Allocate totalN |]
    let outs = [| DeviceBuffer<float>.Allocate totalN; DeviceBuffer<float>.Allocate totalM |]

    /// One half-step of every problem in one launch: for `Rows`, results.[p] = −ε_p LSE_j(log b_j + (others.[p]_j −
    /// C_ij)/ε_p), the f-update from g; for `Cols` the g-update from f — each problem's `Softmin` of its own operator.
    member _.Softmin(side: Side, eps: float[], others: float[][], results: float[][]) : unit =
        if eps.Length <> problems.Length || others.Length <> problems.Length || results.Length <> problems.Length then
            invalidArg "eps" "one ε, one potential and one result per problem."
        context.MakeCurrent()
        let rows, cols, l, t, logCols, s = (match side with Rows -> xs, ys, layout, rowTables, logB, 0 | Cols -> ys, xs, transposed, colTables, logA, 1)
        terms.[s].CopyFrom(ReadOnlySpan(CudaBatchLayout.columnTerms eps others logCols))
        epsBuffer.CopyFrom(ReadOnlySpan eps)
        let out = outs.[s]
        kernels.SoftminBatched.Launch(uint l.BlockProblem.Length, uint block, context.Stream, rows, cols, terms.[s], t.[0], t.[1], t.[2], t.[3], epsBuffer, d, out)
        let host = out.Download()
        for p in 0 .. problems.Length - 1 do Array.blit host l.RowStart.[p] results.[p] 0 (l.RowStart.[p + 1] - l.RowStart.[p])

    interface IBatchedHalfStep with
        member this.Softmin(side, eps, others, results) = this.Softmin(side, eps, others, results)
        member _.Dispose() =
            xs.Dispose()
            ys.Dispose()
            for b in Array.append rowTables colTables do b.Dispose()
            for b in Array.concat [ terms; outs; [| epsBuffer |] ] do b.Dispose()

/// The CUDA backend: the same primitives as the CPU reference, on device 0 through our own interop. Without a
/// driver or device `IsAvailable` is false and nothing is loaded; `Prepare` then fails with the reason.
[<Sealed>]
type CudaBackend private () =
    static let instance = CudaBackend()
    /// The largest dimension the kernels' per-thread coordinate registers hold (`OTN_MAX_DIM` in native/).
    static let maxDim = 8
    let probe = lazy (CudaDriverProbe.Probe())
    let context = lazy (CudaContext.Open 0)
    let kernels = lazy (CudaKernelLoader.load context.Value)
    let linearAlgebra = lazy (CudaLinearAlgebra(context.Value) :> ILinearAlgebra)

    /// The shared instance (one primary context per process).
    static member Instance = instance

    /// Why the backend cannot run here, or None when it can.
    member _.UnavailableReason =
        if probe.Value.Available then None else Some probe.Value.Reason

    interface IBackend with
        member _.Name = "cuda"
        member _.IsAvailable = probe.Value.Available
        member this.Description =
            match this.UnavailableReason with
            | Some reason -> "CUDA unavailable: " + reason
            | None ->
                let dev = context.Value.Device
                sprintf "CUDA device %d: %s, compute %d.%d, %.1f GiB, %d SMs; driver API %d; kernels from %s" dev.Ordinal dev.Name dev.ComputeMajor dev.ComputeMinor
                    (float dev.TotalMemoryBytes / 1073741824.0) dev.Multiprocessors probe.Value.DriverVersion
                    (try kernels.Value.Origin with e -> "— (" + e.Message + ")")
        member this.LinearAlgebra =
            match this.UnavailableReason with
            | Some reason -> raise (NotSupportedException("CUDA linear algebra cannot run here: " + reason))
            | None -> linearAlgebra.Value
        member this.Supports problem =
            // What the kernels cannot take is said first: it holds on every machine.
            match problem.Geometry, this.UnavailableReason with
            | CostMatrix _, _ -> Unsupported "the CUDA kernels take point clouds, not a cost matrix"
            | CloudsWithCost (_, _, cost), _ -> Unsupported(sprintf "the CUDA kernels evaluate the squared Euclidean cost, not %s" cost.Name)
            | PointClouds (x, _), _ when x.Cols > maxDim -> Unsupported(sprintf "the CUDA kernels handle d ≤ %d, this problem has d = %d" maxDim x.Cols)
            | _, Some reason -> Unsupported("CUDA is unavailable: " + reason)
            | PointClouds _, None -> Supported
        member this.Prepare problem =
            match (this :> IBackend).Supports problem with
            | Unsupported reason -> raise (NotSupportedException("The CUDA backend cannot take this problem: " + reason + "."))
            | Supported -> new CudaTransportOperator(problem, this, context.Value, kernels.Value) :> ITransportOperator

    /// Prepares a batch of problems of one dimension for batched half-steps (`CudaBatchOperator`).
    member this.PrepareBatch(problems: OtProblem[]) =
        problems |> Array.iteri (fun k p ->
            match (this :> IBackend).Supports p with
            | Unsupported reason -> raise (NotSupportedException(sprintf "The CUDA backend cannot take problems[%d]: %s." k reason))
            | Supported -> ())
        new CudaBatchOperator(problems, context.Value, kernels.Value)

    interface IBatchingBackend with
        member this.PrepareBatch problems = this.PrepareBatch problems :> IBatchedHalfStep
