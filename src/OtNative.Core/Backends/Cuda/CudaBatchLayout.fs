namespace OtNative.Core

/// Where the problems of a batch sit in the concatenated arrays of one batched half-step (`otn_softmin_batched`,
/// native/batched.cuh), and which rows each thread block works on. Blocks never straddle two problems, so a block's
/// threads stream one problem's columns together.
type CudaBatchLayout =
    { /// Problem p's row points are rows RowStart[p] … RowStart[p + 1] of the concatenation (P + 1 entries).
      RowStart: int[]
      /// Problem p's column points, likewise.
      ColStart: int[]
      /// The problem of each thread block.
      BlockProblem: int[]
      /// The first (absolute) row of each thread block; its threads take the next BlockSize rows of that problem.
      BlockRow: int[]
      BlockSize: int }

    member l.Problems = l.RowStart.Length - 1

module CudaBatchLayout =
    /// The layout of problems with these row and column counts, BlockSize threads a block.
    let create (blockSize: int) (rowCounts: int[]) (colCounts: int[]) =
        if blockSize < 1 then invalidArg "blockSize" "a block needs at least one thread."
        if rowCounts.Length <> colCounts.Length then invalidArg "colCounts" "one column count per problem."
        if Array.exists (fun c -> c < 1) rowCounts || Array.exists (fun c -> c < 1) colCounts then
            invalidArg "rowCounts" "every problem needs at least one point on each side."
        let starts (counts: int[]) = Array.scan (fun total c -> Checked.(+) total c) 0 counts
        let rowStart = starts rowCounts
        let blocks =
            [| for p in 0 .. rowCounts.Length - 1 do
                 for first in rowStart.[p] .. blockSize .. rowStart.[p + 1] - 1 -> p, first |]
        { RowStart = rowStart; ColStart = starts colCounts; BlockProblem = Array.map fst blocks
          BlockRow = Array.map snd blocks; BlockSize = blockSize }

    /// The layout of the other half-step: the columns become the rows.
    let transposed (layout: CudaBatchLayout) =
        let counts (starts: int[]) = Array.init (starts.Length - 1) (fun p -> starts.[p + 1] - starts.[p])
        create layout.BlockSize (counts layout.ColStart) (counts layout.RowStart)

    /// The problems' matrices (all with the same number of columns) one after the other, row-major.
    let concatenate (parts: Matrix[]) =
        if parts |> Array.exists (fun m -> m.Cols <> parts.[0].Cols) then invalidArg "parts" "the problems of a batch share their dimension."
        Array.concat (parts |> Array.map (fun m -> m.Data))

    /// The concatenated column terms of a batched half-step: other_j/ε_p + log w_j for each problem p's columns.
    let columnTerms (eps: float[]) (others: float[][]) (logWeights: float[][]) =
        Array.concat (Array.init eps.Length (fun p -> Array.map2 (fun (o: float) lw -> o / eps.[p] + lw) others.[p] logWeights.[p]))
