namespace OtNative.Core

open System

/// The mixed-precision schedule of one Sinkhorn loop (math.md §1): its half-steps take float32 exponentials while their
/// error improves, where the options ask for it (Auto already resolved at the solve's entry) and the operator gains from
/// it; the iteration after the one that reaches the stopping threshold, or after `StallIterations` without a new best
/// (float32's floor), or the last the cap allows, and every one after, are float64 — so the decision to stop, the
/// returned g and the error measured on the returned plan are float64's.
[<Sealed>]
type internal MixedSweeps(operator: ITransportOperator, options: SinkhornOptions, eps: float, stopAt: float) =
    let steps =
        match operator with
        | :? IMixedHalfStep as m when m.Worthwhile && options.Precision = Precision.Mixed -> Some m
        | _ -> None
    let mutable mixed = steps.IsSome
    let mutable iterations = 0
    let mutable best = infinity
    let mutable bestAt = 0

    /// Mixed sweeps whose error has not improved on its best for this many iterations have reached float32's floor.
    static member StallIterations = 10

    /// One half-step, float32 or float64 as the schedule stands.
    member _.HalfStep(side: Side, other: float[], result: float[]) =
        match steps with
        | Some m when mixed -> m.SoftminMixed(side, eps, other, result, options.Cancellation)
        | _ -> operator.Softmin(side, eps, other, result, options.Cancellation)

    /// Whether iteration `iteration` (error `err`) was a mixed one; the next is float64 once this one reached the
    /// threshold or the sweeps stalled. A mixed iteration never ends the loop.
    member _.WasMixed(iteration: int, err: float) =
        if not mixed then false
        else
            iterations <- iteration
            if err < best then
                best <- err
                bestAt <- iteration
            mixed <- err >= stopAt && iteration - bestAt < MixedSweeps.StallIterations && iteration + 1 < options.MaxIterations
            true


    /// The iterations that ran mixed.
    member _.Iterations = iterations
