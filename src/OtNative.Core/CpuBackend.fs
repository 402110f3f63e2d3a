namespace OtNative.Core

open System
open System.Numerics

/// The CPU problem: both sides' SIMD layouts and the log-weights, built once.
[<Sealed>]
type internal CpuTransportKernel(problem: OtProblem) =
    let logA = Array.map log problem.A
    let logB = Array.map log problem.B
    let rowsLayout, colsLayout =
        match problem.Geometry with
        | PointClouds (x, y) -> CpuKernels.layoutOfPoints x y, CpuKernels.layoutOfPoints y x
        | CostMatrix c -> CpuKernels.layoutOfCost c, CpuKernels.layoutOfCost (c.Transpose())

    /// The layout reducing over `side`'s opposite index, with the row and column log-weights.
    let oriented side =
        match side with
        | Rows -> rowsLayout, logA, logB
        | Cols -> colsLayout, logB, logA

    /// V (count × k, count = the opposite side's size) as k padded coordinate rows.
    let transposePadded (l: CpuKernels.CostLayout) (v: Matrix) =
        let k = v.Cols
        let vt = Array.zeroCreate (k * l.ColsPadded)
        for j in 0 .. v.Rows - 1 do
            for q in 0 .. k - 1 do
                vt.[q * l.ColsPadded + j] <- v.[j, q]
        vt

    interface ITransportKernel with
        member _.Problem = problem

        member _.Softmin(side, eps, other, result) =
            let l, _, logCols = oriented side
            CpuKernels.softmin l eps (CpuKernels.columnTerm l eps other logCols) result

        member _.Apply(side, eps, f, g, v, costWeighted) =
            let l, logRows, logCols = oriented side
            let rowPot, colPot = (match side with Rows -> f, g | Cols -> g, f)
            Validation.shape "v" l.Cols v.Cols v
            let rowTerm = Array.init l.Rows (fun i -> rowPot.[i] / eps + logRows.[i])
            CpuKernels.apply l eps rowTerm (CpuKernels.columnTerm l eps colPot logCols) (transposePadded l v) v.Cols costWeighted

        member _.Plan(eps, f, g) =
            let rowTerm = Array.init problem.N (fun i -> f.[i] / eps + logA.[i])
            CpuKernels.plan rowsLayout eps rowTerm (CpuKernels.columnTerm rowsLayout eps g logB)

        member _.Dispose() = ()

/// The reference backend: defines the semantics every other backend must reproduce.
[<Sealed>]
type CpuBackend() =
    /// The shared instance.
    static member Instance = CpuBackend()

    interface IBackend with
        member _.Name = "cpu"
        member _.IsAvailable = true
        member _.Description =
            sprintf "CPU, %d threads, SIMD %d×float64 (%s)" Environment.ProcessorCount Vector<float>.Count
                (if Vector.IsHardwareAccelerated then "hardware accelerated" else "software")
        member _.Prepare problem = new CpuTransportKernel(problem) :> ITransportKernel
