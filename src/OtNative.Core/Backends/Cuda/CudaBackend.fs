namespace OtNative.Core

open System
open System.IO
open OtNative.Interop

/// The transport kernels of `native/transport.cu`, loaded for one device.
type internal CudaKernelSet =
    { Module: CudaModule
      Softmin: CudaKernel
      Apply: CudaKernel
      Plan: CudaKernel
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
        { Module = m; Softmin = m.Kernel "otn_softmin"; Apply = m.Kernel "otn_apply"; Plan = m.Kernel "otn_plan"; Origin = origin }

/// A point-cloud problem on the GPU: both clouds uploaded once; every primitive streams the cost in tiles.
[<Sealed>]
type internal CudaTransportOperator(problem: OtProblem, backend: IBackend, context: CudaContext, kernels: CudaKernelSet) =
    static let block = 128u
    /// Columns one `otn_apply` launch carries: the kernel keeps one register accumulator per column.
    static let maxColumns = 16
    let x, y =
        match problem.Geometry with
        | PointClouds (x, y) -> x, y
        | CostMatrix _ -> raise (NotSupportedException "The CUDA backend takes point clouds only: Softmin/Apply/Plan on a cost matrix are CPU operations.")
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
            let rows, cols, nRows, nCols, logRows, logCols = oriented side
            Validation.shape "v" nCols v.Cols v
            let rowPot, colPot = (match side with Rows -> f, g | Cols -> g, f)
            let rowTerm = Array.init nRows (fun i -> rowPot.[i] / eps + logRows.[i])
            let colTerm = Array.init nCols (fun j -> colPot.[j] / eps + logCols.[j])
            let out = Matrix.Zeros(nRows, v.Cols)
            let rt = upload "rowTerm" rowTerm
            let ct = upload "colTerm" colTerm
            for c0 in 0 .. maxColumns .. v.Cols - 1 do
                let k = min maxColumns (v.Cols - c0)
                let vb = upload "v" (Array.init (nCols * k) (fun t -> v.[t / k, c0 + t % k]))
                let res = buffer "applyOut" (nRows * k)
                kernels.Apply.Launch(grid nRows, block, context.Stream, rows, cols, rt, ct, vb, nRows, nCols, d, k, eps, (if costWeighted then 1 else 0), res)
                let host = res.Download()
                for i in 0 .. nRows - 1 do
                    for q in 0 .. k - 1 do out.[i, c0 + q] <- host.[i * k + q]
            out

        member _.Plan(eps, f, g) =
            context.MakeCurrent()
            let n, m = problem.N, problem.M
            let rt = upload "rowTerm" (Array.init n (fun i -> f.[i] / eps + logA.[i]))
            let ct = upload "colTerm" (Array.init m (fun j -> g.[j] / eps + logB.[j]))
            // The n×m plan is asked for once per dense Hessian: not worth keeping on the device.
            use out = DeviceBuffer<float>.Allocate(n * m)
            kernels.Plan.Launch(uint ((int64 n * int64 m + int64 block - 1L) / int64 block), block, context.Stream, xs, ys, rt, ct, n, m, d, eps, out)
            Matrix(n, m, out.Download())

        member _.Dispose() =
            xs.Dispose()
            ys.Dispose()
            for b in scratch.Values do b.Dispose()
            scratch.Clear()

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
            | PointClouds (x, _), _ when x.Cols > maxDim -> Unsupported(sprintf "the CUDA kernels handle d ≤ %d, this problem has d = %d" maxDim x.Cols)
            | _, Some reason -> Unsupported("CUDA is unavailable: " + reason)
            | PointClouds _, None -> Supported
        member this.Prepare problem =
            match (this :> IBackend).Supports problem with
            | Unsupported reason -> raise (NotSupportedException("The CUDA backend cannot take this problem: " + reason + "."))
            | Supported -> new CudaTransportOperator(problem, this, context.Value, kernels.Value) :> ITransportOperator
