namespace OtNative

open System

/// Refuses a dense request (a materialised plan, a dense Hessian, an H-matrix spectrum) that cannot fit, before
/// anything is allocated, saying what it needs, what is available and the matrix-free alternative.
module internal DenseRequest =
    /// Two sizes in GiB with as many significant digits as it takes to tell them apart (two to six): "needs about 0.2 GiB
    /// but 0.2 GiB are available" said nothing.
    let internal apart (needed: float) (available: float) =
        let show (digits: int) (bytes: float) = (bytes / 1073741824.0).ToString("G" + string digits, Globalization.CultureInfo.InvariantCulture)
        let digits = seq { 2 .. 6 } |> Seq.tryFind (fun d -> show d needed <> show d available) |> Option.defaultValue 6
        show digits needed, show digits available

    /// What a symmetric eigendecomposition of an N × N matrix allocates besides the matrix and its vectors, in units of
    /// N² float64: LAPACKE's column-major copy of a row-major matrix (N²) and dsyevd's workspace (1 + 6N + 2N²); Math.NET's
    /// managed solver needs less. Left out, the peak resident memory ran 27 % above the estimate for the eigen path and 16 %
    /// for the Schur path at n = 3 000.
    let eigenWorkspace = 3.0

    /// `what` needs `bytes` in all, its largest single array having `largest` elements.
    let require (what: string) (bytes: float) (largest: float) (alternative: string) =
        // What the process may still allocate: its limit (physical memory, or a GC heap limit) less what its heap holds —
        // measured again after a full collection before refusing, so that garbage (a previous Hessian) does not count.
        let availableAfter (collect: bool) = max 0.0 (float (GC.GetGCMemoryInfo().TotalAvailableMemoryBytes) - float (GC.GetTotalMemory collect))
        let tooLong = largest > float Array.MaxLength
        let available = if tooLong || bytes <= availableAfter false then availableAfter false else availableAfter true
        if tooLong || bytes > available then
            let needed, free = apart bytes available
            raise (InsufficientMemoryException(
                sprintf "%s needs about %s GiB%s but %s GiB are available: %s." what needed
                    (if tooLong then sprintf " (one array of %.3g elements, beyond .NET's limit of %d)" largest Array.MaxLength else "")
                    free alternative))
