/// The batched half-step's layout (`CudaBatchLayout`), executed on the host block by block and thread by thread as
/// `otn_softmin_batched` executes it, against each problem's own half-step on the CPU reference.
module OtNative.Core.Tests.BatchLayoutTests

open System
open System.Threading
open Xunit
open OtNative.Core
open OtNative.Core.Tests.Reference

/// What the kernel computes for a layout: each block's threads take the rows after BlockRow of their block's problem
/// and stream that problem's columns. Returns the result and how often each row was written.
let private emulate (l: CudaBatchLayout) (rows: float[]) (cols: float[]) (term: float[]) (eps: float[]) d =
    let total = l.RowStart.[l.Problems]
    let result = Array.create total nan
    let writes = Array.zeroCreate total
    for b in 0 .. l.BlockProblem.Length - 1 do
        let p = l.BlockProblem.[b]
        for t in 0 .. l.BlockSize - 1 do
            let i = l.BlockRow.[b] + t
            if i < l.RowStart.[p + 1] then
                writes.[i] <- writes.[i] + 1
                result.[i] <-
                    softminOf eps.[p]
                        [| for j in l.ColStart.[p] .. l.ColStart.[p + 1] - 1 ->
                             let cost = Seq.sum (seq { for q in 0 .. d - 1 -> (rows.[i * d + q] - cols.[j * d + q]) ** 2.0 })
                             term.[j] - cost / eps.[p] |]
    result, writes

[<Fact>]
let ``the batched half-step's layout gives every problem its own half-step, each row once`` () =
    let rng = Random(8)
    // Sizes around the block size (127, 128, 129 rows), single points, and wide and tall problems.
    let sizes = Array.append [| 1, 1; 127, 3; 128, 129; 129, 5; 300, 200; 7, 300 |] (Array.init 20 (fun _ -> rng.Next(1, 90), rng.Next(1, 90)))
    let d = 3
    let problems = sizes |> Array.map (fun (n, m) -> OtProblem.create (cloud rng n d) (cloud rng m d) (Some (weights rng n false)) (Some (weights rng m false)))
    let eps = problems |> Array.map (fun p -> (0.05 + rng.NextDouble()) * OtProblem.meanCost p)
    let layout = CudaBatchLayout.create 128 (problems |> Array.map (fun p -> p.N)) (problems |> Array.map (fun p -> p.M))
    Assert.Equal(Array.sumBy (fun (n, _) -> (n + 127) / 128) sizes, layout.BlockProblem.Length)
    for side in [ Rows; Cols ] do
        let l, rowsOf, colsOf, logCols =
            match side with
            | Rows -> layout, (fun (p: OtProblem) -> p.X), (fun (p: OtProblem) -> p.Y), problems |> Array.map (fun p -> Array.map log p.B)
            | Cols -> CudaBatchLayout.transposed layout, (fun p -> p.Y), (fun p -> p.X), problems |> Array.map (fun p -> Array.map log p.A)
        let others = problems |> Array.map (fun p -> Array.init (match side with Rows -> p.M | Cols -> p.N) (fun _ -> rng.NextDouble() - 0.5))
        let result, writes =
            emulate l (CudaBatchLayout.concatenate (Array.map rowsOf problems)) (CudaBatchLayout.concatenate (Array.map colsOf problems))
                (CudaBatchLayout.columnTerms eps others logCols) eps d
        Assert.All(writes, fun w -> Assert.Equal(1, w))
        problems |> Array.iteri (fun k p ->
            use op = cpu.Prepare p
            let expected = Array.zeroCreate (match side with Rows -> p.N | Cols -> p.M)
            op.Softmin(side, eps.[k], others.[k], expected, CancellationToken.None)
            let actual = result.[l.RowStart.[k] .. l.RowStart.[k + 1] - 1]
            Assert.True(relativeError actual expected < 1e-12, sprintf "%A, problem %d (%d × %d): %g" side k p.N p.M (relativeError actual expected)))

[<Fact>]
let ``a batch layout refuses an empty problem and mismatched counts`` () =
    Assert.Throws<ArgumentException>(fun () -> CudaBatchLayout.create 128 [| 3; 0 |] [| 2; 2 |] |> ignore) |> ignore
    Assert.Throws<ArgumentException>(fun () -> CudaBatchLayout.create 128 [| 3 |] [| 2; 2 |] |> ignore) |> ignore
