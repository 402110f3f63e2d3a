namespace OtNative.Core

open OtNative
open System
open System.Diagnostics

/// The Sinkhorn loops at an ε already resolved (math.md §1) — the alternating updates with their stopping and stall
/// rules, and the averaged update of a self-transport — and the checks every loop shares. The options are validated
/// and ε resolved once, at a solve's entry (`Sinkhorn`); the loops take ε as a number.
module SinkhornLoop =
    let private allFinite (v: float[]) =
        let mutable ok = true
        for x in v do ok <- ok && Double.IsFinite x
        ok

    /// Fails when a potential stopped being finite, saying what that means for ε.
    let checkFinite (what: string) (v: float[]) iteration err =
        if not (allFinite v) then
            raise (NumericalFailureException(
                sprintf "The Sinkhorn %s-potential became non-finite at iteration %d (last marginal error %g): ε is too small for the scale of the costs, or the costs overflow." what iteration err,
                iteration, err))

    /// The options' own checks, and a warm start's length: at a solve's entry.
    let validateOptions (p: OtProblem) (o: SinkhornOptions) =
        Validation.positive "Tolerance" o.Tolerance
        if o.MaxIterations < 1 then raise (ArgumentException(sprintf "MaxIterations must be at least 1, got %d." o.MaxIterations, "MaxIterations"))
        if o.ProgressInterval < 1 then raise (ArgumentException("ProgressInterval must be at least 1.", "ProgressInterval"))
        match o.Start with
        | Start.FromF f -> Validation.vector "InitialF" p.N f
        | Start.FromG g -> Validation.vector "InitialG" p.M g
        | Start.Initialised -> ()

    /// Reports progress every `ProgressInterval` iterations, for problem `problemIndex` of a batch (−1: a single solve).
    let reportProgressOf (problemIndex: int) (options: SinkhornOptions) iteration err (sw: Stopwatch) =
        match options.Progress with
        | Some report when iteration % options.ProgressInterval = 0 ->
            report { Iteration = iteration; MarginalError = err; Elapsed = sw.Elapsed; ProblemIndex = problemIndex }
        | _ -> ()

    let private reportProgress = reportProgressOf -1

    /// Fails when the loop ended on a non-finite marginal error.
    let requireFiniteError iteration err =
        if not (Double.IsFinite err) then
            raise (NumericalFailureException(sprintf "The marginal error is not finite after %d iterations." iteration, iteration, err))

    /// Iterations over which a stalling solve's rate is measured.
    let private stallWindow = 50

    /// Near the answer Sinkhorn's error falls linearly, err_t ≈ err_0 ρᵗ: the rate over the last window projects the
    /// iterations still needed, log(tol/err) / log ρ. The updates have stalled when the error did not fall over the
    /// window, or the projection exceeds both the iterations run so far and those the cap leaves: they are not yet half
    /// way, or would return unconverged. L-BFGS then needs a few dozen evaluations where Sinkhorn needs thousands (at
    /// small ε near-permutation plans give ρ within 1e-6 of 1).
    let private stalled errWindowAgo err tolerance iterationsDone iterationsLeft =
        err >= errWindowAgo
        || log (tolerance / err) * float stallWindow / log (err / errWindowAgo) > float (min iterationsDone iterationsLeft)

    /// The row error of the plan (f, g) after the f-update fNext from g: (P1)_i = a_i exp((f_i − fNext_i)/ε).
    let rowError width (p: OtProblem) eps (f: float[]) (fNext: float[]) = SimdMath.weightedDeviation width p.A f fNext (1.0 / eps)

    /// The dual value ⟨a, f⟩ + ⟨b, g⟩.
    let dualValue (p: OtProblem) (f: float[]) (g: float[]) =
        let mutable s = 0.0
        for i in 0 .. p.N - 1 do s <- s + p.A.[i] * f.[i]
        for j in 0 .. p.M - 1 do s <- s + p.B.[j] * g.[j]
        s

    /// The alternating updates on a prepared operator at ε, from f0 (or f = 0), `startPasses` already spent reaching it.
    /// Each iteration updates g (exact column marginal) then f; the f-update yields the row marginal of the previous plan
    /// for free: (P1)_i = a_i exp((f_i^old − f_i^new)/ε). On convergence the plan whose error was measured is returned, so
    /// `MarginalError` is exact for the returned potentials. With `stopWhenStalled`, the loop also ends (unconverged)
    /// when the updates stall.
    let iterate (stopWhenStalled: bool) (operator: ITransportOperator) (options: SinkhornOptions) (eps: float) (f0: float[] option) (startPasses: int) =
        let p = operator.Problem
        let width = CpuBackend.HostWidth operator.Backend
        let sw = Stopwatch.StartNew()
        let f = match f0 with Some start -> Array.copy start | None -> Array.zeroCreate p.N
        let g = Array.zeroCreate p.M
        let fNext = Array.zeroCreate p.N
        let stopAt = StoppingRule.threshold options.Tolerance
        let mutable err = infinity
        let mutable errWindowAgo = infinity
        let mutable iter = 0
        let mutable converged = false
        let mutable stall = false
        let sweeps = MixedSweeps(operator, options, eps, stopAt)
        // A relaxed side's update is the soft-min shrunk by κ (math.md §9); balanced sides keep κ = 1 and the SIMD error.
        let relaxation = p.Relaxation
        let kappaA, kappaB = Unbalanced.kappa relaxation.TauA eps, Unbalanced.kappa relaxation.TauB eps
        while not converged && not stall && iter < options.MaxIterations do
            options.Cancellation.ThrowIfCancellationRequested()
            sweeps.HalfStep(Cols, f, g)
            Unbalanced.shrink kappaB g
            checkFinite "g" g iter err
            sweeps.HalfStep(Rows, g, fNext)
            Unbalanced.shrink kappaA fNext
            checkFinite "f" fNext iter err
            err <-
                if Double.IsPositiveInfinity relaxation.TauA then rowError width p eps f fNext
                else Unbalanced.rowError relaxation.TauA eps p.A f fNext
            iter <- iter + 1
            let wasMixed = sweeps.WasMixed(iter, err)
            if wasMixed then
                if iter < options.MaxIterations then Array.blit fNext 0 f 0 p.N
                // The stall rule judges float64 errors only: its first window starts after the switch.
                errWindowAgo <- infinity
            elif err < stopAt then converged <- true
            elif iter < options.MaxIterations then
                // Not in a loop that may stop on a stall (a balanced problem's hand-over to L-BFGS): a stalled exit returns
                // the copied f with the g before it, whose value the relaxed mass terms would misstate.
                if not stopWhenStalled then Unbalanced.translate relaxation p fNext g
                Array.blit fNext 0 f 0 p.N
            if stopWhenStalled && not wasMixed && not converged && iter % stallWindow = 0 then
                // The first window is the transient, before the linear rate sets in.
                stall <- iter > stallWindow && stalled errWindowAgo err stopAt iter (options.MaxIterations - iter)
                errWindowAgo <- err
            reportProgress options iter err sw
        requireFiniteError iter err
        let value =
            if relaxation.IsBalanced then dualValue p f g
            else Unbalanced.dualValue p eps f g (Unbalanced.massAfterColumnUpdate p g)
        { F = f; G = g; Epsilon = eps; Value = value; Iterations = iter
          MarginalError = err; Converged = converged; Passes = 2 * iter + startPasses; SwitchedToLbfgsAt = None
          MixedIterations = sweeps.Iterations; Elapsed = sw.Elapsed }

    /// Self-transport (y = x, b = a) at ε: the optimal plan is symmetric with g = f, and the averaged fixed-point update
    /// f ← ½(f + T(f)), T(f)_i = −ε LSE_j(log a_j + (f_j − C_ij)/ε), converges in a few dozen iterations where the
    /// alternating updates crawl (they oscillate between two potentials). The row error of the symmetric plan
    /// P(f, f) comes with each T(f): (P1)_i = a_i exp((f_i − T(f)_i)/ε); the dual value is 2⟨a, f⟩ − ε(ΣP − 1).
    let iterateSymmetric (operator: ITransportOperator) (options: SinkhornOptions) (eps: float) =
        let p = operator.Problem
        let sw = Stopwatch.StartNew()
        // g = f for a self-transport: either warm start is the same potential.
        let f = match options.Start with Start.FromF f0 | Start.FromG f0 -> Array.copy f0 | Start.Initialised -> Array.zeroCreate p.N
        let t = Array.zeroCreate p.N
        let stopAt = StoppingRule.threshold options.Tolerance
        let mutable err = infinity
        let mutable mass = nan
        let mutable iter = 0
        let mutable converged = false
        let sweeps = MixedSweeps(operator, options, eps, stopAt)
        // A relaxed self-transport relaxes both sides alike (τ_a = τ_b): T(f) = κ softmin(f), row mass
        // a_i exp((f_i − T(f)_i/κ)/ε) against a_i e^{−f_i/τ} (math.md §9).
        let tau = p.Relaxation.TauA
        let kappa = Unbalanced.kappa tau eps
        while not converged && iter < options.MaxIterations do
            options.Cancellation.ThrowIfCancellationRequested()
            sweeps.HalfStep(Rows, f, t)
            Unbalanced.shrink kappa t
            checkFinite "f" t iter err
            let mutable e = 0.0
            let mutable total = 0.0
            for i in 0 .. p.N - 1 do
                let rowMass = p.A.[i] * exp ((f.[i] - t.[i] / kappa) / eps)
                e <- e + abs (rowMass - Unbalanced.targetMass tau p.A f i)
                total <- total + rowMass
            // The plan is symmetric: its column error equals its row error, and the reported error is their sum.
            err <- 2.0 * e
            mass <- total
            iter <- iter + 1
            if not (sweeps.WasMixed(iter, err)) && err < stopAt then converged <- true
            elif iter < options.MaxIterations then
                for i in 0 .. p.N - 1 do f.[i] <- 0.5 * (f.[i] + t.[i])
            reportProgress options iter err sw
        requireFiniteError iter err
        let value = 2.0 * Unbalanced.dualTerm tau p.A f - eps * (mass - 1.0)
        { F = f; G = Array.copy f; Epsilon = eps; Value = value; Iterations = iter
          MarginalError = err; Converged = converged; Passes = iter; SwitchedToLbfgsAt = None; MixedIterations = sweeps.Iterations
          Elapsed = sw.Elapsed }
