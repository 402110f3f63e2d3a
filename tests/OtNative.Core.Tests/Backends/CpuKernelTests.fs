/// The CPU kernels' arithmetic against scalar references: the vector exponential against Math.Exp, and the
/// streamed half-step against a plain two-pass log-sum-exp, whatever guess its result array brings.
module OtNative.Core.Tests.CpuKernelTests

open System
open Xunit
open OtNative.Core
open OtNative.Core.Tests.Reference

let private ulpsBetween (actual: float) (expected: float) =
    if actual = expected then 0.0 else abs (actual - expected) / (Math.BitIncrement(abs expected) - abs expected)

/// SimdMath.exp (or, ofTerm, SimdMath.expOfTerm) at `width` over `inputs` (whose length is a multiple of 8, so of
/// every width's lanes).
let private expOf (ofTerm: bool) (width: SimdWidth) (inputs: float[]) =
    Simd.run width
        { new IWidthGeneric<float[]> with
            member _.Invoke<'V when 'V :> ILanes<'V> and 'V: struct>() =
                let out = Array.zeroCreate inputs.Length
                for start in 0 .. 'V.Count .. inputs.Length - 1 do
                    let x = 'V.Load(inputs, start)
                    'V.Store((if ofTerm then SimdMath.expOfTerm x else SimdMath.exp x), out, start)
                out }

let private expAt = expOf false

/// Every width the kernels can run at (those wider than the processor's run in software).
let widths = [| SimdWidth.Bits512; SimdWidth.Bits256; SimdWidth.Bits128; SimdWidth.Scalar |]

let widthCases () = widths |> Seq.map (fun w -> [| box w |])

[<Theory>]
[<MemberData(nameof widthCases)>]
let ``the vector exponential is within 2 ulp of Math.Exp over its whole range at every width`` (width: SimdWidth) =
    let rng = Random(11)
    let inputs =
        Array.concat [
            Array.init 400_000 (fun _ -> -708.0 + 1417.0 * rng.NextDouble())
            // The reduction's boundaries: r = ±ln2/2, where the polynomial is least accurate.
            Array.init 100_000 (fun _ -> (float (rng.Next(-1000, 1000)) + 0.5) * Math.Log 2.0 + 1e-9 * (rng.NextDouble() - 0.5))
            Array.init 100_000 (fun _ -> 1e-3 * (rng.NextDouble() - 0.5))
            [| -708.0; 0.0; -0.0; 1e-300; 709.0; Math.Log 2.0; -Math.Log 2.0; 1.0 |] ]
    let e = expAt width inputs
    let mutable worst, at = 0.0, nan
    for t in 0 .. inputs.Length - 1 do
        let u = ulpsBetween e.[t] (Math.Exp inputs.[t])
        if u > worst then worst <- u; at <- inputs.[t]
    Assert.True(worst <= 2.0, sprintf "%A: %.2f ulp at x = %.17g" width worst at)

[<Theory>]
[<MemberData(nameof widthCases)>]
let ``the vector exponential flushes below -708 to zero, saturates above 709 and keeps NaN at every width`` (width: SimdWidth) =
    let e = expAt width [| Double.NegativeInfinity; nan; -708.5; -1e6; 1e6; Double.PositiveInfinity; 0.0; 0.0 |]
    Assert.Equal(0.0, e.[0])
    Assert.True(Double.IsNaN e.[1], "exp(NaN) must be NaN, not a finite value")
    Assert.Equal(0.0, e.[2])
    Assert.Equal(0.0, e.[3])
    Assert.True(ulpsBetween e.[4] (Math.Exp 709.0) <= 2.0, sprintf "e^1e6 gave %g" e.[4])
    Assert.True(ulpsBetween e.[5] (Math.Exp 709.0) <= 2.0, sprintf "e^∞ gave %g" e.[5])
    Assert.Equal(1.0, e.[6])

[<Theory>]
[<MemberData(nameof widthCases)>]
let ``the exponential of a sum's term is exp above -708, a negligible e^-708 below, and keeps NaN`` (width: SimdWidth) =
    let rng = Random(3)
    let inputs = Array.append (Array.init 80_000 (fun _ -> -708.0 + 1417.0 * rng.NextDouble())) [| -708.0; -709.0; -1e6; Double.NegativeInfinity; nan; 709.5; 0.0; 1.0 |]
    let plain, term = expAt width inputs, expOf true width inputs
    for t in 0 .. inputs.Length - 1 do
        let x = inputs.[t]
        if Double.IsNaN x then Assert.True(Double.IsNaN term.[t], "expOfTerm(NaN) must be NaN")
        elif x >= -708.0 then Assert.Equal(plain.[t], term.[t])
        else Assert.True(term.[t] > 0.0 && ulpsBetween term.[t] (Math.Exp -708.0) <= 2.0, sprintf "%A: expOfTerm(%g) = %g" width x term.[t])

[<Theory>]
[<MemberData(nameof widthCases)>]
let ``the row error at every width is the scalar sum, infinite where it overflows and NaN where it is NaN`` (width: SimdWidth) =
    let rng = Random(4)
    for n in [ 1; 7; 8; 9; 64; 67 ] do
        let w = Array.init n (fun _ -> rng.NextDouble())
        let u = Array.init n (fun _ -> gaussian rng)
        let v = Array.init n (fun _ -> gaussian rng)
        let expected = Array.init n (fun i -> w.[i] * abs (Math.Exp((u.[i] - v.[i]) * 3.0) - 1.0)) |> Array.sum
        let actual = SimdMath.weightedDeviation width w u v 3.0
        Assert.True(abs (actual - expected) <= 1e-14 * expected, sprintf "%A, n = %d: %.17g against %.17g" width n actual expected)
        // One overflowing term of a tiny weight: ∞, as Math.Exp gives, not the vector exponential's saturated e^709.
        let big = Array.copy u
        big.[n - 1] <- v.[n - 1] + 800.0 / 3.0
        let tiny = Array.copy w
        tiny.[n - 1] <- 1e-12
        Assert.Equal(Double.PositiveInfinity, SimdMath.weightedDeviation width tiny big v 3.0)
        let withNaN = Array.copy u
        withNaN.[0] <- nan
        Assert.True(Double.IsNaN (SimdMath.weightedDeviation width w withNaN v 3.0), sprintf "%A, n = %d: NaN lost" width n)

[<Fact>]
let ``a NaN among a row's exponents makes that row NaN wherever it stands, at every width`` () =
    let rng = Random(6)
    let n, m = 3, 2100
    let cost = Matrix(n, m, Array.init (n * m) (fun _ -> rng.NextDouble()))
    let p = OtProblem.ofCost cost None None
    for width in widths do
        use operator = (CpuBackend(cpu.LinearAlgebra, width) :> IBackend).Prepare p
        for at in [ 0; 5; 2047; 2048; m - 1 ] do
            let g = Array.zeroCreate m
            g.[at] <- nan
            let result = Array.create n nan
            operator.Softmin(Rows, 0.1, g, result, Threading.CancellationToken.None)
            Assert.True(Array.forall Double.IsNaN result, sprintf "%A, NaN at column %d: %A" width at result)

[<Fact>]
let ``every width the lanes types claim is what they hold`` () =
    for w in widths do
        let lanes =
            Simd.run w { new IWidthGeneric<int> with member _.Invoke<'V when 'V :> ILanes<'V> and 'V: struct>() = 'V.Count }
        Assert.Equal(Simd.lanes w, lanes)
        Assert.Equal(Ok w, Simd.parse (Simd.name w))
    Assert.True(Result.isError (Simd.parse "1024"))

/// −ε LSE_j(log b_j + (g_j − C_ij)/ε) by the textbook two passes (max, then sum of exponentials) in scalars.
let private referenceHalfStep (c: float[,]) (logB: float[]) (g: float[]) (eps: float) =
    Array.init (Array2D.length1 c) (fun i -> softminOf eps (Array.init logB.Length (fun j -> logB.[j] + (g.[j] - c.[i, j]) / eps)))

[<Theory>]
[<InlineData(1, 37, 29)>]
[<InlineData(2, 64, 64)>]
[<InlineData(3, 200, 333)>]
[<InlineData(5, 31, 70)>]
let ``a half-step gives the same answer from any guess in its result array at every width`` (d: int, n: int, m: int) =
    let rng = Random(d * 1000 + n)
    let p = OtProblem.create (cloud rng n d) (cloud rng m d) (Some (weights rng n false)) (Some (weights rng m false))
    let c = (OtProblem.costMatrix p).ToArray2D()
    let g = Array.init m (fun _ -> 3.0 * gaussian rng)
    let logB = Array.map log p.B
    for width, eps in Seq.allPairs widths [ 0.05; 1.0; 40.0 ] do
        use operator = (CpuBackend(cpu.LinearAlgebra, width) :> IBackend).Prepare p
        let expected = referenceHalfStep c logB g eps
        // No guess, the answer itself, a near miss, guesses far enough off that the one-pass sum over- or
        // underflows its safe range (so the row is redone exactly), and a guess from another ε.
        let guesses =
            [ Array.create n nan
              Array.copy expected
              expected |> Array.map (fun f -> f + eps * (gaussian rng))
              expected |> Array.map (fun f -> f + 900.0 * eps)
              expected |> Array.map (fun f -> f - 900.0 * eps)
              expected |> Array.map (fun f -> f * 7.0 + 1.0)
              Array.create n Double.PositiveInfinity ]
        for guess in guesses do
            let result = Array.copy guess
            operator.Softmin(Rows, eps, g, result, Threading.CancellationToken.None)
            let err = Array.map2 (fun (r: float) e -> abs (r - e) / (1.0 + abs e)) result expected |> Array.max
            Assert.True(err < 1e-13, sprintf "%A, d = %d, ε = %g, guess %g…: off by %g" width d eps guess.[0] err)

[<Theory>]
[<InlineData(2, 40, 57, 1)>]
[<InlineData(3, 300, 217, 1)>]
[<InlineData(2, 260, 301, 3)>]
[<InlineData(5, 31, 70, 2)>]
let ``the fused coupled pass equals P, then the transpose, at every width`` (d: int, n: int, m: int, k: int) =
    let rng = Random(7 * n + m)
    let p = OtProblem.create (cloud rng n d) (cloud rng m d) (Some (weights rng n false)) (Some (weights rng m false))
    let eps = 0.3 * OtProblem.meanCost p
    let f = Array.init n (fun _ -> 0.2 * gaussian rng)
    let g = Array.init m (fun _ -> 0.2 * gaussian rng)
    let w = Array.init n (fun _ -> 0.5 + rng.NextDouble())
    let v = Matrix(m, k, Array.init (m * k) (fun _ -> gaussian rng))
    for width in widths do
        use operator = (CpuBackend(cpu.LinearAlgebra, width) :> IBackend).Prepare p
        let pv = operator.Apply(Rows, eps, f, g, v, false)
        let scaled = Matrix(n, k, Array.init (n * k) (fun t -> pv.Data.[t] * w.[t / k]))
        let expected = operator.Apply(Cols, eps, f, g, scaled, false)
        let fused = operator :?> ICoupledApply
        let actual = fused.Coupled(eps, f, g, w, v, Threading.CancellationToken.None)
        Assert.True(relativeError actual.Data expected.Data < 1e-13, sprintf "%A: off by %g" width (relativeError actual.Data expected.Data))
        // Repeatable to the bit (the row groups and their order are fixed by the sizes; whichever thread runs a group).
        Assert.Equal<float[]>(actual.Data, (fused.Coupled(eps, f, g, w, v, Threading.CancellationToken.None)).Data)

/// The layouts a small point-cloud problem is run on — its costs tabulated once — against the streamed layouts a large
/// one is run on, at `width`: every kernel's output, bit for bit.
let private tabulatedAgainstStreamed (width: SimdWidth) (d: int) =
    let rng = Random(70 + d)
    let n, m = 37, 53
    let x = Matrix(n, d, Array.init (n * d) (fun _ -> 3.0 * rng.NextDouble() - 1.0))
    let y = Matrix(m, d, Array.init (m * d) (fun _ -> 3.0 * rng.NextDouble() - 1.0))
    Simd.run width
        { new IWidthGeneric<bool> with
            member _.Invoke<'V when 'V :> ILanes<'V> and 'V: struct>() =
                let lanes = 'V.Count
                // Pooled arrays of the tables' sizes hold NaN from an earlier user: the tables' padding must not show it.
                for size in [ n * CpuKernels.padded lanes m; m * CpuKernels.padded lanes n ] do
                    let stale = Buffers.ArrayPool<float>.Shared.Rent size
                    Array.fill stale 0 stale.Length nan
                    Buffers.ArrayPool<float>.Shared.Return stale
                let tabRows, tabCols = CpuKernels.tabulatedLayoutsOfPoints lanes x y
                let streamedRows, streamedCols = CpuKernels.layoutOfPoints lanes x y, CpuKernels.layoutOfPoints lanes y x
                let eps = 0.3
                for (tab: CpuKernels.CostLayout), (streamed: CpuKernels.CostLayout) in [ tabRows, streamedRows; tabCols, streamedCols ] do
                    let rows, cols = tab.Rows, tab.Cols
                    let colPot = Array.init cols (fun _ -> rng.NextDouble() - 0.5)
                    let rowPot = Array.init rows (fun _ -> rng.NextDouble() - 0.5)
                    let logW = Array.create cols (-log (float cols))
                    let term = Array.zeroCreate tab.ColsPadded
                    CpuKernels.columnTermInto tab eps colPot logW term
                    for guess in [ Array.zeroCreate rows; Array.copy rowPot ] do
                        let softminOn l =
                            let result = Array.copy guess
                            CpuKernels.softmin<'V> l eps term result (CpuKernels.newTile l) false Threading.CancellationToken.None
                            result
                        Assert.Equal<float>(softminOn streamed, softminOn tab)
                    let rowTerm = Array.map (fun f -> f / eps - log (float rows)) rowPot
                    for k in [ 1; 3 ] do
                        let vT = Array.init (k * tab.ColsPadded) (fun t -> if t % tab.ColsPadded < cols then rng.NextDouble() else 0.0)
                        for weighted in [ false; true ] do
                            let applyOn (l: CpuKernels.CostLayout) =
                                let out = Array.zeroCreate (l.Rows * k)
                                CpuKernels.applyInto<'V> l eps rowTerm term vT k weighted out Threading.CancellationToken.None
                                out
                            Assert.Equal<float>(applyOn streamed, applyOn tab)
                        let coupledOn l = CpuKernels.coupled<'V> l eps rowTerm term vT k (Array.create rows 0.7) Threading.CancellationToken.None
                        Assert.Equal<float>(coupledOn streamed, coupledOn tab)
                    Assert.Equal<float>((CpuKernels.plan<'V> streamed eps rowTerm term).Data, (CpuKernels.plan<'V> tab eps rowTerm term).Data)
                Buffers.ArrayPool<float>.Shared.Return tabRows.CostRows
                Buffers.ArrayPool<float>.Shared.Return tabCols.CostRows
                true }
    |> ignore

let tabulationCases () =
    seq { for w in widths do for d in 1 .. 4 -> [| box w; box d |] }

[<Theory>]
[<MemberData(nameof tabulationCases)>]
let ``tabulated costs give every kernel the streamed costs' bits at every width and dimension`` (width: SimdWidth) (d: int) =
    tabulatedAgainstStreamed width d

[<Fact>]
let ``a disposed CPU operator refuses work instead of reading costs returned to the pool`` () =
    let x = Matrix(5, 2, Array.init 10 float)
    let operator = (CpuBackend.Instance :> IBackend).Prepare(OtProblem.create x x None None)
    operator.Dispose()
    operator.Dispose()
    let f = Array.zeroCreate 5
    Assert.Throws<ObjectDisposedException>(fun () -> operator.Softmin(Rows, 1.0, Array.zeroCreate 5, f, Threading.CancellationToken.None)) |> ignore
    Assert.Throws<ObjectDisposedException>(fun () -> operator.Apply(Rows, 1.0, f, f, Matrix(5, 1, Array.create 5 1.0), false) |> ignore) |> ignore

[<Fact>]
let ``a half-step stopped by cancellation leaves its operator usable and disposable`` () =
    let rng = Random 5
    // Past the threading threshold, so that the half-step is cancelled between blocks of rows.
    let cloud () = Matrix(300, 2, Array.init 600 (fun _ -> rng.NextDouble()))
    let problem = OtProblem.create (cloud ()) (cloud ()) None None
    let backend = CpuBackend.Instance :> IBackend
    let g = Array.init 300 (fun j -> 0.01 * float j)
    let reference = Array.zeroCreate 300
    (using (backend.Prepare problem) (fun fresh -> fresh.Softmin(Rows, 0.1, g, reference, Threading.CancellationToken.None)))
    let operator = backend.Prepare problem
    let f = Array.zeroCreate 300
    Assert.ThrowsAny<OperationCanceledException>(fun () -> operator.Softmin(Rows, 0.1, g, f, Threading.CancellationToken(true))) |> ignore
    let again = Array.zeroCreate 300
    operator.Softmin(Rows, 0.1, g, again, Threading.CancellationToken.None)
    Assert.Equal<float>(reference, again)
    Assert.ThrowsAny<OperationCanceledException>(fun () -> operator.Softmin(Cols, 0.1, g, f, Threading.CancellationToken(true))) |> ignore
    // The passes that measure a returned plan stop too: a large solve's cancellation does not wait for them.
    let passes = operator :?> IMomentPasses
    Assert.ThrowsAny<OperationCanceledException>(fun () ->
        passes.RowMoments(0.1, f, g, problem.Y, Array.zeroCreate 300, Array.zeroCreate 600, Threading.CancellationToken(true))) |> ignore
    Assert.ThrowsAny<OperationCanceledException>(fun () -> passes.ColumnMass(0.1, f, g, Array.zeroCreate 300, Threading.CancellationToken(true))) |> ignore
    operator.Dispose()

/// Small (tabulated costs) and larger (streamed, threaded) problems at every width.
let momentCases () =
    seq { for w in widths do for n, d in [ 40, 3; 300, 2 ] -> [| box w; box n; box d |] }

[<Theory>]
[<MemberData(nameof momentCases)>]
let ``the CPU moment passes give Apply's marginals and transported targets to the bit`` (width: SimdWidth) (n: int) (d: int) =
    let rng = Random(n + d)
    let cloud rows = Matrix(rows, d, Array.init (rows * d) (fun _ -> rng.NextDouble()))
    let x, y = cloud n, cloud (n + 7)
    let m = y.Rows
    use operator = (CpuBackend(LinearAlgebraProviders.managed, width) :> IBackend).Prepare(OtProblem.create x y None None)
    let f = Array.init n (fun _ -> 0.1 * rng.NextDouble())
    let g = Array.init m (fun _ -> 0.1 * rng.NextDouble())
    let eps = 0.2
    let passes = operator :?> IMomentPasses
    let r, py, s = Array.zeroCreate n, Array.zeroCreate (n * d), Array.zeroCreate m
    passes.RowMoments(eps, f, g, y, r, py, Threading.CancellationToken.None)
    passes.ColumnMass(eps, f, g, s, Threading.CancellationToken.None)
    let both = operator.Apply(Rows, eps, f, g, Matrix(m, d + 1, Array.init (m * (d + 1)) (fun t -> let j, q = t / (d + 1), t % (d + 1) in if q = 0 then 1.0 else y.[j, q - 1])), false)
    Assert.Equal<float>(Array.init n (fun i -> both.[i, 0]), r)
    Assert.Equal<float>(Array.init (n * d) (fun t -> both.[t / d, t % d + 1]), py)
    Assert.Equal<float>(operator.Apply(Cols, eps, f, g, Matrix(n, 1, Array.create n 1.0), false).Data, s)
