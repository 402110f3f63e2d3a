namespace OtNative.Core

open OtNative
open System
open System.Diagnostics

module Sinkhorn =
    let private allFinite (v: float[]) =
        let mutable ok = true
        for x in v do ok <- ok && Double.IsFinite x
        ok

    let private checkFinite (what: string) (v: float[]) iteration err =
        if not (allFinite v) then
            raise (NumericalFailureException(
                sprintf "The Sinkhorn %s-potential became non-finite at iteration %d (last marginal error %g): ε is too small for the scale of the costs, or the costs overflow." what iteration err,
                iteration, err))

    let private validateOptions (p: OtProblem) (o: SinkhornOptions) =
        Validation.positive "tolerance" o.Tolerance
        if o.MaxIterations < 1 then raise (ArgumentException(sprintf "maxIterations must be at least 1, got %d." o.MaxIterations, "maxIterations"))
        if o.ProgressInterval < 1 then raise (ArgumentException("progressInterval must be at least 1.", "progressInterval"))
        o.InitialF |> Option.iter (Validation.vector "initialF" p.N)
        o.InitialG |> Option.iter (Validation.vector "initialG" p.M)

    let private reportProgressOf (problemIndex: int) (options: SinkhornOptions) iteration err (sw: Stopwatch) =
        match options.Progress with
        | Some report when iteration % options.ProgressInterval = 0 ->
            report { Iteration = iteration; MarginalError = err; Elapsed = sw.Elapsed; ProblemIndex = problemIndex }
        | _ -> ()

    let private reportProgress = reportProgressOf -1

    let private requireFiniteError iteration err =
        if not (Double.IsFinite err) then
            raise (NumericalFailureException(sprintf "The marginal error is not finite after %d iterations." iteration, iteration, err))

    /// The subsample's solve stops at this marginal error or iteration count: it only has to place the mass coarsely.
    let private subsampleTolerance = 1e-3
    let private subsampleIterations = 2_000

    /// The GMM initialiser's component problem is a few dozen pairs: solving it tightly costs nothing.
    let private componentTolerance = 1e-9
    let private componentIterations = 100_000

    /// The options of a solve an initialiser runs on its own small problem: at ε, from zero, to `tolerance` within
    /// `iterations`, unconverged allowed, without progress reports.
    let private auxiliary (options: SinkhornOptions) (eps: float) (tolerance: float) (iterations: int) =
        { options with Epsilon = Absolute eps; Initializer = ZeroPotentials; InitialF = None; InitialG = None
                       Tolerance = tolerance; MaxIterations = iterations; RequireConvergence = false; Progress = None }

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
    let private rowError width (p: OtProblem) eps (f: float[]) (fNext: float[]) = SimdMath.weightedDeviation width p.A f fNext (1.0 / eps)

    /// The dual value ⟨a, f⟩ + ⟨b, g⟩.
    let private dualValue (p: OtProblem) (f: float[]) (g: float[]) =
        let mutable s = 0.0
        for i in 0 .. p.N - 1 do s <- s + p.A.[i] * f.[i]
        for j in 0 .. p.M - 1 do s <- s + p.B.[j] * g.[j]
        s

    /// The iterations on an already prepared operator. Each iteration updates g (exact column marginal)
    /// then f; the f-update yields the row marginal of the previous plan for free:
    /// (P1)_i = a_i exp((f_i^old − f_i^new)/ε). On convergence the plan whose error was measured
    /// is returned, so `MarginalError` is exact for the returned potentials. With `stopWhenStalled`, the loop also
    /// ends (unconverged) when the updates stall.
    let rec private iterate (stopWhenStalled: bool) (operator: ITransportOperator) (options: SinkhornOptions) =
        let p = operator.Problem
        let width = CpuBackend.HostWidth operator.Backend
        validateOptions p options
        let eps = OtProblem.resolveEpsilon p options.Epsilon
        let sw = Stopwatch.StartNew()
        let f = Array.zeroCreate p.N
        let g = Array.zeroCreate p.M
        let fNext = Array.zeroCreate p.N
        // The passes spent before the first iteration: the f-update from a given g, or an initialiser's own work.
        let startPasses =
            match options.InitialF, options.InitialG with
            | Some f0, _ ->
                Array.blit f0 0 f 0 p.N
                0
            | None, Some g0 ->
                operator.Softmin(Rows, eps, g0, f, options.Cancellation)
                checkFinite "f" f 0 nan
                1
            | None, None ->
                let start, passes = startingPotential operator options options.Initializer eps
                start |> Option.iter (fun f0 -> Array.blit f0 0 f 0 p.N)
                passes
        let stopAt = StoppingRule.threshold options.Tolerance
        let mutable err = infinity
        let mutable errWindowAgo = infinity
        let mutable iter = 0
        let mutable converged = false
        let mutable stall = false
        let sweeps = MixedSweeps(operator, options, eps, stopAt)
        while not converged && not stall && iter < options.MaxIterations do
            options.Cancellation.ThrowIfCancellationRequested()
            sweeps.HalfStep(Cols, f, g)
            checkFinite "g" g iter err
            sweeps.HalfStep(Rows, g, fNext)
            checkFinite "f" fNext iter err
            err <- rowError width p eps f fNext
            iter <- iter + 1
            let wasMixed = sweeps.WasMixed(iter, err)
            if wasMixed then
                if iter < options.MaxIterations then Array.blit fNext 0 f 0 p.N
                // The stall rule judges float64 errors only: its first window starts after the switch.
                errWindowAgo <- infinity
            elif err < stopAt then converged <- true
            elif iter < options.MaxIterations then Array.blit fNext 0 f 0 p.N
            if stopWhenStalled && not wasMixed && not converged && iter % stallWindow = 0 then
                // The first window is the transient, before the linear rate sets in.
                stall <- iter > stallWindow && stalled errWindowAgo err stopAt iter (options.MaxIterations - iter)
                errWindowAgo <- err
            reportProgress options iter err sw
        requireFiniteError iter err
        { F = f; G = g; Epsilon = eps; Value = dualValue p f g; Iterations = iter
          MarginalError = err; Converged = converged; Passes = 2 * iter + startPasses; SwitchedToLbfgsAt = None
          MixedIterations = sweeps.Iterations; Elapsed = sw.Elapsed }

    /// The f a solve starts from when no potential is given, and the streamed passes it cost (in passes over the
    /// full problem's pairs, rounded up). The subsample initialiser needs a solve of its own, hence here.
    /// The Gaussian, sorting and GMM initialisers work on the clouds rescaled to a largest coordinate of one (the problem is
    /// centred already): their covariances and Bures maps square the coordinates again, which overflowed from about 1e78
    /// and broke LAPACK from 1e120 where the solve itself is fine. Costs, ε and potentials scale by s², so the potentials
    /// found are divided by it.
    and private startingPotential (operator: ITransportOperator) (options: SinkhornOptions) (initializer: Initializer) (eps: float) =
        let p = operator.Problem
        let la = operator.Backend.LinearAlgebra
        match Initializers.resolve initializer p with
        | Subsample -> subsampleStart operator options eps
        | ZeroPotentials -> None, 0
        | resolved ->
            let s = Initializers.unitScale p
            let scaled = Initializers.rescaled p s
            let potential =
                match resolved with
                | GaussianMixtures -> Some (Initializers.gaussianMixture la (componentPotentials operator options (eps * s * s)) (eps * s * s) scaled)
                | _ -> Initializers.initialPotential la resolved scaled
            potential |> Option.map (Array.map (fun v -> v / (s * s))), 0

    /// Thornton & Cuturi's subsample initialiser: OT at the same ε between subsamples (`Initializers.subsample`) of both
    /// clouds (weights renormalised), solved coarsely, then its g extended to every source point by the soft
    /// c-transform f_i = −ε LSE_{j∈S}(log b̃_j + (g_j − C_ij)/ε) — one pass over n × |S| pairs.
    and private subsampleStart (operator: ITransportOperator) (options: SinkhornOptions) (eps: float) =
        let p = operator.Problem
        match p.Geometry with
        | CostMatrix _ -> raise (NotSupportedException "The subsample initialiser needs point clouds: subsample the cost matrix's rows and columns yourself.")
        | PointClouds (x, y) ->
            let xs, aS = Initializers.subsample x p.A
            let ys, bS = Initializers.subsample y p.B
            use small = operator.Backend.Prepare(OtProblem.create xs ys (Some aS) (Some bS))
            let coarse = iterate false small (auxiliary options eps (max options.Tolerance subsampleTolerance) subsampleIterations)
            use extension = operator.Backend.Prepare(OtProblem.create x ys (Some p.A) (Some bS))
            let f = Array.zeroCreate p.N
            extension.Softmin(Rows, eps, coarse.G, f, options.Cancellation)
            checkFinite "f" f 0 nan
            let pairs = float p.N * float p.M
            let work = float coarse.Passes * float xs.Rows * float ys.Rows + float p.N * float ys.Rows
            Some f, int (ceil (work / pairs))

    /// The GMM initialiser's OT between mixture components (a cost matrix of a few rows and columns): solved at the
    /// problem's ε to `componentTolerance`, its potentials returned.
    and private componentPotentials (operator: ITransportOperator) (options: SinkhornOptions) (eps: float) (cost: Matrix) (wa: float[]) (wb: float[]) =
        use small = operator.Backend.Prepare(OtProblem.ofCost cost (Some wa) (Some wb))
        let solved = iterate false small (auxiliary options eps componentTolerance componentIterations)
        solved.F, solved.G

    /// ε-annealing: stages at ε_t = max(ε, ε₀ qᵗ) with ε₀ the largest cost (the plan is then nearly a ⊗ b) and
    /// q = 1/2, each solved loosely (marginal error 10⁻², at most `annealStageIterations`) and warm-started from the
    /// last, then the final solve at ε to the tolerance. At small ε the stages bring f near the answer for a few dozen
    /// cheap iterations, where a cold start spends thousands spreading mass across the cloud. Iterations are summed.
    let private annealStageIterations = 200

    let private annealed (stopWhenStalled: bool) (operator: ITransportOperator) (options: SinkhornOptions) =
        let p = operator.Problem
        let sw = Stopwatch.StartNew()
        let eps = OtProblem.resolveEpsilon p options.Epsilon
        let mutable stageEps = max eps (OtProblem.costBound p)
        let mutable warm = options.InitialF
        let mutable spent = 0
        let mutable spentPasses = 0
        let mutable spentMixed = 0
        while stageEps > eps do
            let stage =
                iterate false operator
                    { options with Epsilon = Absolute stageEps; Tolerance = max options.Tolerance 1e-2; MaxIterations = annealStageIterations
                                   InitialF = warm; InitialG = (if warm.IsSome then None else options.InitialG); RequireConvergence = false }
            warm <- Some stage.F
            spent <- spent + stage.Iterations
            spentPasses <- spentPasses + stage.Passes
            spentMixed <- spentMixed + stage.MixedIterations
            stageEps <- max eps (0.5 * stageEps)
        let final = iterate stopWhenStalled operator { options with Epsilon = Absolute eps; InitialF = warm; InitialG = (if warm.IsSome then None else options.InitialG) }
        { final with Iterations = final.Iterations + spent; Passes = final.Passes + spentPasses
                     MixedIterations = final.MixedIterations + spentMixed; Elapsed = sw.Elapsed }

    /// L-BFGS on the semi-dual from g: the given g, or the g-update of the given (or initialised) f, or zero.
    let private semiDual (operator: ITransportOperator) (options: SinkhornOptions) =
        let p = operator.Problem
        validateOptions p options
        let eps = OtProblem.resolveEpsilon p options.Epsilon
        let fromF (f: float[]) =
            let g = Array.zeroCreate p.M
            operator.Softmin(Cols, eps, f, g, options.Cancellation)
            checkFinite "g" g 0 nan
            g
        let initializer = if options.Solver = AutoSolver && options.Initializer = ZeroPotentials then AutoInitializer else options.Initializer
        // The f that g starts from (by its g-update) when no g is given, and what finding it cost.
        let startF, initializerPasses =
            match options.InitialG, options.InitialF with
            | Some _, _ -> None, 0
            | None, Some f -> Some f, 0
            | None, None -> startingPotential operator options initializer eps
        let g0 =
            match options.InitialG, startF with
            | Some g, _ -> Array.copy g
            | None, Some f -> fromF f
            | None, None -> Array.zeroCreate p.M
        let startPasses = (if startF.IsSome then 1 else 0) + initializerPasses
        let result = SemiDualLbfgs.iterate operator options eps g0
        { result with Passes = result.Passes + startPasses }

    /// Sinkhorn updates (annealed if asked) until they stall, then L-BFGS from their g with half the iterations left.
    /// L-BFGS can itself creep (or stall on a flat semi-dual far from the answer): the updates then go on, without the
    /// stall rule, from whichever of the two states has the smaller error, for what the cap leaves — so the switch never
    /// ends further from the answer than where it began. The iterations, passes and time are the phases' sums.
    let private sinkhornThenLbfgs (operator: ITransportOperator) (options: SinkhornOptions) =
        let sw = Stopwatch.StartNew()
        let first = if options.Anneal then annealed true operator options else iterate true operator options
        let left = options.MaxIterations - first.Iterations
        if first.Converged || left < 2 then first
        else
            let second = semiDual operator { options with InitialF = None; InitialG = Some first.G; MaxIterations = left / 2 }
            let spent = first.Iterations + second.Iterations
            let switched (last: SinkhornSolution) iterations passes mixedIterations =
                { last with Iterations = iterations; Passes = passes; SwitchedToLbfgsAt = Some first.Iterations
                            MixedIterations = mixedIterations; Elapsed = sw.Elapsed }
            if second.Converged || spent >= options.MaxIterations then switched second spent (first.Passes + second.Passes) first.MixedIterations
            else
                let resumeFrom = if second.MarginalError < first.MarginalError then second.F else first.F
                let third = iterate false operator { options with InitialF = Some resumeFrom; InitialG = None; MaxIterations = options.MaxIterations - spent }
                switched third (spent + third.Iterations) (first.Passes + second.Passes + third.Passes) (first.MixedIterations + third.MixedIterations)

    /// The plain, annealed or L-BFGS iterations, as the options ask (Auto precision decided here, for the solve's own
    /// tolerance).
    let private run (operator: ITransportOperator) (options: SinkhornOptions) =
        let options = { options with Precision = Precision.resolve options.Precision options.Tolerance }
        match options.Solver with
        | Lbfgs | AutoSolver -> semiDual operator options
        | SinkhornThenLbfgs -> sinkhornThenLbfgs operator options
        | SinkhornUpdates -> if options.Anneal then annealed false operator options else iterate false operator options

    /// Self-transport (y = x, b = a): the optimal plan is symmetric with g = f, and the averaged fixed-point update
    /// f ← ½(f + T(f)), T(f)_i = −ε LSE_j(log a_j + (f_j − C_ij)/ε), converges in a few dozen iterations where the
    /// alternating updates crawl (they oscillate between two potentials). The row error of the symmetric plan
    /// P(f, f) comes with each T(f): (P1)_i = a_i exp((f_i − T(f)_i)/ε); the dual value is 2⟨a, f⟩ − ε(ΣP − 1).
    let private iterateSymmetric (operator: ITransportOperator) (options: SinkhornOptions) =
        let p = operator.Problem
        validateOptions p options
        let eps = OtProblem.resolveEpsilon p options.Epsilon
        let sw = Stopwatch.StartNew()
        let f = match options.InitialF with Some f0 -> Array.copy f0 | None -> Array.zeroCreate p.N
        let t = Array.zeroCreate p.N
        let stopAt = StoppingRule.threshold options.Tolerance
        let mutable err = infinity
        let mutable mass = nan
        let mutable iter = 0
        let mutable converged = false
        let sweeps = MixedSweeps(operator, options, eps, stopAt)
        while not converged && iter < options.MaxIterations do
            options.Cancellation.ThrowIfCancellationRequested()
            sweeps.HalfStep(Rows, f, t)
            checkFinite "f" t iter err
            let mutable e = 0.0
            let mutable total = 0.0
            for i in 0 .. p.N - 1 do
                let rowMass = p.A.[i] * exp ((f.[i] - t.[i]) / eps)
                e <- e + abs (rowMass - p.A.[i])
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
        let value = 2.0 * Array.fold2 (fun acc ai fi -> acc + ai * fi) 0.0 p.A f - eps * (mass - 1.0)
        { F = f; G = Array.copy f; Epsilon = eps; Value = value; Iterations = iter
          MarginalError = err; Converged = converged; Passes = iter; SwitchedToLbfgsAt = None; MixedIterations = sweeps.Iterations
          Elapsed = sw.Elapsed }

    /// Measures the returned plan's marginal errors ‖P1 − a‖₁ + ‖Pᵀ1 − b‖₁ with two streamed passes (which also
    /// give r, s and P y to the derivatives, so a solve that is differentiated pays nothing). The loop's error comes
    /// from the identity (P1)_i = a_i exp((f_i^old − f_i^new)/ε) and takes the column marginal as exact; rounding
    /// breaks both when ε is tiny next to the costs. The result then says what the returned plan really is, and is
    /// not converged.
    let private verify (plan: SolvedPlan) (options: SinkhornOptions) =
        let l1 (mass: float[]) (weights: float[]) =
            let mutable e = 0.0
            for i in 0 .. mass.Length - 1 do e <- e + abs (mass.[i] - weights.[i])
            e
        let rowMass, columnMass = plan.Measure options.Cancellation
        let err = l1 rowMass plan.Problem.A + l1 columnMass plan.Problem.B
        let s = plan.Solution
        if not (Double.IsFinite err) then
            raise (NumericalFailureException(sprintf "The returned plan's marginals are not finite after %d iterations at ε = %g." s.Iterations s.Epsilon, s.Iterations, err))
        plan.Reassess(err, s.Converged && err < options.Tolerance)
        if options.RequireConvergence && not plan.Converged then
            raise (ConvergenceException(
                sprintf "Sinkhorn did not reach tolerance %g in %d iterations (marginal error %g at ε = %g)." options.Tolerance s.Iterations err s.Epsilon,
                s.Iterations, err))
        plan

    /// Refuses, before anything is allocated, a streamed solve that cannot fit: besides its input it holds the centred
    /// copy of both clouds and two SIMD layouts of each (three copies of the coordinates), and about two dozen vectors of
    /// n or m (weights, potentials and the loop's next f, log-weights, the measured marginals and P y, the passes' pooled
    /// terms and outputs, the result's copies). A 5-million-point solve under a 768 MiB heap limit otherwise failed with a
    /// bare OutOfMemoryException; with a dozen vectors counted, 1.2 million points under 256 MiB still ran out after the
    /// solve.
    let private requireMemory (p: OtProblem) =
        match p.Geometry with
        | PointClouds (x, y) ->
            let points = float x.Rows + float y.Rows
            DenseRequest.require (sprintf "The solve of %d × %d points (d = %d)" x.Rows y.Rows x.Cols)
                (8.0 * (3.0 * float x.Cols + 24.0) * points) (points * float x.Cols)
                "its memory grows as (n + m)·d; give the process more memory (or a larger GC heap limit)"
        | CostMatrix _ -> ()

    /// Solves on an operator the caller prepared and keeps: the plan does not dispose it.
    let solveWith (operator: ITransportOperator) (options: SinkhornOptions) =
        verify (new SolvedPlan(operator, run operator options, false)) options

    /// Solves a self-transport problem (the same cloud and weights on both sides, as the debiased divergence's
    /// L_ε(a, a) and L_ε(b, b)) by the symmetric update; the plan owns its operator.
    let solveSymmetric (backend: IBackend) (problem: OtProblem) (options: SinkhornOptions) =
        if not (OtProblem.isSelfTransport problem) then
            raise (ArgumentException("A symmetric solve needs a self-transport problem: the same points and weights on both sides.", "problem"))
        requireMemory problem
        let operator = backend.Prepare(OtProblem.centred problem)
        let resolved = { options with Precision = Precision.resolve options.Precision options.Tolerance }
        try verify (new SolvedPlan(operator, iterateSymmetric operator resolved, true)) options
        with _ ->
            operator.Dispose()
            reraise ()

    /// Prepares the problem on the backend — both clouds shifted to be centred at the origin (`OtProblem.centred`), so
    /// every derivative computed from the plan keeps its digits far from the origin — and solves it; the plan owns the
    /// prepared operator. Values and derivatives are those of the problem as given (translation invariance).
    let solve (backend: IBackend) (problem: OtProblem) (options: SinkhornOptions) =
        requireMemory problem
        // Each stage before the loop is a pass over the coordinates: seconds at tens of millions of points.
        options.Cancellation.ThrowIfCancellationRequested()
        let centred = OtProblem.centred problem
        options.Cancellation.ThrowIfCancellationRequested()
        let operator = backend.Prepare centred
        try
            options.Cancellation.ThrowIfCancellationRequested()
            verify (new SolvedPlan(operator, run operator options, true)) options
        with _ ->
            operator.Dispose()
            reraise ()

    /// Whether a batch with these options can run in lockstep: plain Sinkhorn updates from f = 0 (the batched
    /// half-step has no initialiser, annealing or L-BFGS).
    let isLockstep (options: SinkhornOptions) =
        options.Solver = SinkhornUpdates && not options.Anneal && options.InitialF.IsNone && options.InitialG.IsNone
        && options.Initializer = ZeroPotentials

    /// Plain Sinkhorn updates on the problems of `batch` (prepared, centred, on `operators` too) in lockstep: every
    /// iteration is one batched g-update and one batched f-update of all of them. Each problem gets `iterate`'s
    /// iterations, stopping rule, progress reports (with its index) and returned pair; once converged or failed its
    /// state is frozen (the batch still computes its half-steps, into scratch). Per problem: the result or the exception.
    let private lockstep (batch: IBatchedHalfStep) (operators: ITransportOperator[]) (options: SinkhornOptions) =
        let count = operators.Length
        let problems = operators |> Array.map (fun o -> o.Problem)
        let sw = Stopwatch.StartNew()
        let outcome : Result<SinkhornSolution, exn> option[] = Array.create count None
        let eps =
            problems |> Array.mapi (fun k p ->
                try
                    validateOptions p options
                    OtProblem.resolveEpsilon p options.Epsilon
                with e ->
                    outcome.[k] <- Some (Error e)
                    1.0)
        let f = problems |> Array.map (fun p -> Array.zeroCreate<float> p.N)
        let g = problems |> Array.map (fun p -> Array.zeroCreate<float> p.M)
        let fNext = problems |> Array.map (fun p -> Array.zeroCreate<float> p.N)
        // Where each problem's half-steps go: its own potentials while it runs, scratch once it has finished or failed.
        let gOut = Array.copy g
        let fOut = Array.copy fNext
        let retire k =
            gOut.[k] <- Array.zeroCreate problems.[k].M
            fOut.[k] <- Array.zeroCreate problems.[k].N
        let stopAt = StoppingRule.threshold options.Tolerance
        let hostWidth = if count = 0 then Simd.configured.Value else CpuBackend.HostWidth operators.[0].Backend
        let err = Array.create count infinity
        let finish k iterations converged =
            let p = problems.[k]
            outcome.[k] <- Some (
                try
                    requireFiniteError iterations err.[k]
                    Ok { F = f.[k]; G = g.[k]; Epsilon = eps.[k]; Value = dualValue p f.[k] g.[k]; Iterations = iterations
                         MarginalError = err.[k]; Converged = converged; Passes = 2 * iterations; SwitchedToLbfgsAt = None
                         MixedIterations = 0; Elapsed = sw.Elapsed }
                with e -> Error e)
        for k in 0 .. count - 1 do if outcome.[k].IsSome then retire k
        let mutable iter = 0
        while iter < options.MaxIterations && Array.exists Option.isNone outcome do
            options.Cancellation.ThrowIfCancellationRequested()
            batch.Softmin(Cols, eps, f, gOut)
            batch.Softmin(Rows, eps, gOut, fOut)
            iter <- iter + 1
            for k in 0 .. count - 1 do
                if outcome.[k].IsNone then
                    try
                        checkFinite "g" g.[k] (iter - 1) err.[k]
                        checkFinite "f" fNext.[k] (iter - 1) err.[k]
                        err.[k] <- rowError hostWidth problems.[k] eps.[k] f.[k] fNext.[k]
                        if err.[k] < stopAt then finish k iter true
                        elif iter < options.MaxIterations then Array.blit fNext.[k] 0 f.[k] 0 problems.[k].N
                        reportProgressOf k options iter err.[k] sw
                    with e -> outcome.[k] <- Some (Error e)
                    if outcome.[k].IsSome then retire k
        for k in 0 .. count - 1 do
            if outcome.[k].IsNone then finish k iter false
        outcome |> Array.map Option.get

    /// Solves the problems by plain Sinkhorn updates in lockstep on a batching backend (`isLockstep options` must
    /// hold; every problem a point cloud the backend supports, all of one dimension): each centred and prepared on its
    /// own operator for the derivatives and all together for the half-steps. Per problem: the verified plan, owning
    /// its operator, or the exception it failed with. Cancellation raises.
    let solveLockstep (backend: IBackend) (batching: IBatchingBackend) (problems: OtProblem[]) (options: SinkhornOptions) =
        if not (isLockstep options) then invalidArg "options" "lockstep solves run plain Sinkhorn updates from f = 0."
        let centred = problems |> Array.map OtProblem.centred
        let operators = Array.zeroCreate<ITransportOperator> centred.Length
        try
            for k in 0 .. centred.Length - 1 do operators.[k] <- backend.Prepare centred.[k]
            let results =
                use batch = batching.PrepareBatch centred
                lockstep batch operators options
            results |> Array.mapi (fun k result ->
                match result with
                | Ok solution ->
                    let plan = new SolvedPlan(operators.[k], solution, true)
                    try Ok (verify plan options)
                    with e ->
                        (plan :> IDisposable).Dispose()
                        Error e
                | Error e ->
                    operators.[k].Dispose()
                    Error e)
        with _ ->
            for o in operators do if not (obj.ReferenceEquals(o, null)) then o.Dispose()
            reraise ()
