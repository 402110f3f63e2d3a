namespace OtNative.Core

open OtNative
open System
open System.Diagnostics

/// The solvers' entry points and dispatch (math.md §1, §6): the options checked and ε resolved once, where the solve
/// starts (a given f or g, or an initialiser), plain, annealed or L-BFGS iterations as the options ask, and the
/// measurement of the returned plan. The loops themselves are `SinkhornLoop`'s; lockstep batches are `Lockstep`'s.
module Sinkhorn =
    /// The subsample's solve stops at this marginal error or iteration count: it only has to place the mass coarsely.
    let private subsampleTolerance = 1e-3
    let private subsampleIterations = 2_000

    /// The GMM initialiser's component problem is a few dozen pairs: solving it tightly costs nothing.
    let private componentTolerance = 1e-9
    let private componentIterations = 100_000

    /// The options of a solve an initialiser runs on its own small problem: from zero, to `tolerance` within
    /// `iterations`, unconverged allowed, without progress reports.
    let private auxiliary (options: SinkhornOptions) (tolerance: float) (iterations: int) =
        { options with Initializer = Initializer.None; Start = Start.Initialised
                       Tolerance = tolerance; MaxIterations = iterations; RequireConvergence = false; Progress = None }

    /// The f `initializer` gives at ε, and the streamed passes it cost (in passes over the full problem's pairs).
    /// The Gaussian, sorting and GMM initialisers work on the clouds rescaled to a largest coordinate of one (the problem is
    /// centred already): their covariances and Bures maps square the coordinates again, which overflowed from about 1e78
    /// and broke LAPACK from 1e120 where the solve itself is fine. Costs, ε and potentials scale by s², so the potentials
    /// found are divided by it.
    let private initialised (operator: ITransportOperator) (options: SinkhornOptions) (initializer: Initializer) (eps: float) =
        let p = operator.Problem
        let la = operator.Backend.LinearAlgebra
        match Initializers.resolve initializer p with
        | Initializer.Subsample ->
            let coarse small = SinkhornLoop.iterate false small (auxiliary options (max options.Tolerance subsampleTolerance) subsampleIterations) eps None 0
            let f, passes = Initializers.subsampleStart operator eps options.Cancellation coarse
            SinkhornLoop.checkFinite "f" f 0 nan
            Some f, passes
        | Initializer.None -> None, 0
        | resolved ->
            let s = Initializers.unitScale p
            let scaled = Initializers.rescaled p s
            // The GMM initialiser's OT between mixture components (a cost matrix of a few rows and columns), solved tightly.
            let componentPotentials scaledEps (cost: Matrix) (wa: float[]) (wb: float[]) =
                use small = operator.Backend.Prepare(OtProblem.ofCost cost (Some wa) (Some wb))
                let solved = SinkhornLoop.iterate false small (auxiliary options componentTolerance componentIterations) scaledEps None 0
                solved.F, solved.G
            let potential =
                match resolved with
                | Initializer.Gmm -> Some (Initializers.gaussianMixture la (componentPotentials (eps * s * s)) (eps * s * s) scaled)
                | _ -> Initializers.initialPotential la resolved scaled
            potential |> Option.map (Array.map (fun v -> v / (s * s))), 0

    /// Where the alternating updates start: the given f, the f-update of the given g (one pass), or the initialiser's f.
    let private start (operator: ITransportOperator) (options: SinkhornOptions) (eps: float) =
        match options.Start with
        | Start.FromF f0 -> Some f0, 0
        | Start.FromG g0 ->
            let f = Array.zeroCreate operator.Problem.N
            operator.Softmin(Rows, eps, g0, f, options.Cancellation)
            SinkhornLoop.checkFinite "f" f 0 nan
            Some f, 1
        | Start.Initialised -> initialised operator options options.Initializer eps

    /// ε-annealing: stages at ε_t = max(ε, ε₀ qᵗ) with ε₀ the largest cost (the plan is then nearly a ⊗ b) and
    /// q = 1/2, each solved loosely (marginal error 10⁻², at most `annealStageIterations`) and warm-started from the
    /// last, then the final solve at ε to the tolerance. At small ε the stages bring f near the answer for a few dozen
    /// cheap iterations, where a cold start spends thousands spreading mass across the cloud. Iterations are summed.
    let private annealStageIterations = 200

    let private annealed (stopWhenStalled: bool) (operator: ITransportOperator) (options: SinkhornOptions) (eps: float) =
        let p = operator.Problem
        let sw = Stopwatch.StartNew()
        let stage = { options with Tolerance = max options.Tolerance 1e-2; MaxIterations = annealStageIterations; RequireConvergence = false }
        let mutable stageEps = max eps (OtProblem.costBoundCancellable options.Cancellation p)
        // The first stage starts where the solve would (a given f or g, or the initialiser, at its own ε); each next one
        // from the last.
        let mutable warm = if stageEps > eps then Some (start operator options stageEps) else None
        let mutable spent = 0
        let mutable spentPasses = 0
        let mutable spentMixed = 0
        while stageEps > eps do
            let f0, startPasses = warm.Value
            let solved = SinkhornLoop.iterate false operator stage stageEps f0 startPasses
            warm <- Some (Some solved.F, 0)
            spent <- spent + solved.Iterations
            spentPasses <- spentPasses + solved.Passes
            spentMixed <- spentMixed + solved.MixedIterations
            stageEps <- max eps (0.5 * stageEps)
        let f0, startPasses = match warm with Some w -> w | None -> start operator options eps
        let final = SinkhornLoop.iterate stopWhenStalled operator options eps f0 startPasses
        { final with Iterations = final.Iterations + spent; Passes = final.Passes + spentPasses
                     MixedIterations = final.MixedIterations + spentMixed; Elapsed = sw.Elapsed }

    /// The alternating updates, annealed when the options ask.
    let private updates (stopWhenStalled: bool) (operator: ITransportOperator) (options: SinkhornOptions) (eps: float) =
        if options.Anneal then annealed stopWhenStalled operator options eps
        else
            let f0, startPasses = start operator options eps
            SinkhornLoop.iterate stopWhenStalled operator options eps f0 startPasses

    /// L-BFGS on the semi-dual from g: the given g, or the g-update of the given (or initialised) f, or zero.
    let private semiDual (operator: ITransportOperator) (options: SinkhornOptions) (eps: float) =
        let p = operator.Problem
        let initializer = if options.Solver = ForwardSolver.Auto && options.Initializer = Initializer.None then Initializer.Auto else options.Initializer
        // The f that g starts from (by its g-update) when no g is given, and what finding it cost.
        let startF, initializerPasses =
            match options.Start with
            | Start.FromG _ -> None, 0
            | Start.FromF f -> Some f, 0
            | Start.Initialised -> initialised operator options initializer eps
        let g0 =
            match options.Start, startF with
            | Start.FromG g, _ -> Array.copy g
            | _, Some f ->
                let g = Array.zeroCreate p.M
                operator.Softmin(Cols, eps, f, g, options.Cancellation)
                SinkhornLoop.checkFinite "g" g 0 nan
                g
            | _, None -> Array.zeroCreate p.M
        let startPasses = (if startF.IsSome then 1 else 0) + initializerPasses
        let result = SemiDualLbfgs.iterate operator options eps g0
        { result with Passes = result.Passes + startPasses }

    /// Sinkhorn updates (annealed if asked) until they stall, then L-BFGS from their g with half the iterations left.
    /// L-BFGS can itself creep (or stall on a flat semi-dual far from the answer): the updates then go on, without the
    /// stall rule, from whichever of the two states has the smaller error, for what the cap leaves — so the switch never
    /// ends further from the answer than where it began. The iterations, passes and time are the phases' sums.
    let private sinkhornThenLbfgs (operator: ITransportOperator) (options: SinkhornOptions) (lbfgsPrecision: Precision) (eps: float) =
        let sw = Stopwatch.StartNew()
        let first = updates true operator options eps
        let left = options.MaxIterations - first.Iterations
        if first.Converged || left < 2 then first
        else
            let second = SemiDualLbfgs.iterate operator { options with MaxIterations = left / 2; Precision = lbfgsPrecision } eps (Array.copy first.G)
            let spent = first.Iterations + second.Iterations
            let switched (last: SinkhornSolution) iterations passes mixedIterations =
                { last with Iterations = iterations; Passes = passes; SwitchedToLbfgsAt = Some first.Iterations
                            MixedIterations = mixedIterations; Elapsed = sw.Elapsed }
            if second.Converged || spent >= options.MaxIterations then
                switched second spent (first.Passes + second.Passes) (first.MixedIterations + second.MixedIterations)
            else
                let resumeFrom = if second.MarginalError < first.MarginalError then second.F else first.F
                let third = SinkhornLoop.iterate false operator { options with MaxIterations = options.MaxIterations - spent } eps (Some resumeFrom) 0
                switched third (spent + third.Iterations) (first.Passes + second.Passes + third.Passes)
                    (first.MixedIterations + second.MixedIterations + third.MixedIterations)

    /// The options checked and ε resolved on the prepared problem, once, with Auto precision decided for the solve's own
    /// tolerance (the loose inner solves of annealing and initialisers must not turn a float64 solve mixed).
    let private resolved (operator: ITransportOperator) (options: SinkhornOptions) =
        SinkhornLoop.validateOptions operator.Problem options
        { options with Precision = Precision.resolve options.Precision options.Tolerance }, OtProblem.resolveEpsilonCancellable options.Cancellation operator.Problem options.Epsilon

    /// The plain, annealed or L-BFGS iterations, as the options ask; Auto precision decided for each (`Precision`).
    let private run (operator: ITransportOperator) (options: SinkhornOptions) =
        let lbfgsPrecision = Precision.resolveForLbfgs options.Precision
        let options, eps = resolved operator options
        let balanced = operator.Problem.Relaxation.IsBalanced
        match options.Solver with
        // L-BFGS runs on the balanced semi-dual; a relaxed problem takes the (shrunk) Sinkhorn updates (math.md §9).
        | ForwardSolver.Lbfgs | ForwardSolver.SinkhornThenLbfgs when not balanced ->
            raise (NotSupportedException "L-BFGS solves the balanced semi-dual: an unbalanced problem (TauA or TauB finite) is solved by Sinkhorn updates (Solver = Sinkhorn, or Auto, which picks them).")
        | ForwardSolver.Auto when not balanced -> updates false operator options eps
        | ForwardSolver.Lbfgs | ForwardSolver.Auto -> semiDual operator { options with Precision = lbfgsPrecision } eps
        | ForwardSolver.SinkhornThenLbfgs -> sinkhornThenLbfgs operator options lbfgsPrecision eps
        | ForwardSolver.Sinkhorn -> updates false operator options eps

    /// Measures the returned plan's marginal errors ‖P1 − a‖₁ + ‖Pᵀ1 − b‖₁ with two streamed passes (which also
    /// give r, s and P y to the derivatives, so a solve that is differentiated pays nothing). The loop's error comes
    /// from the identity (P1)_i = a_i exp((f_i^old − f_i^new)/ε) and takes the column marginal as exact; rounding
    /// breaks both when ε is tiny next to the costs. The result then says what the returned plan really is, and is
    /// not converged.
    let internal verify (plan: SolvedPlan) (options: SinkhornOptions) =
        let l1 (mass: float[]) (weights: float[]) =
            let mutable e = 0.0
            for i in 0 .. mass.Length - 1 do e <- e + abs (mass.[i] - weights.[i])
            e
        let rowMass, columnMass = plan.Measure options.Cancellation
        let s = plan.Solution
        let p = plan.Problem
        // The masses the optimality conditions ask for: a and b, or a∘e^{−f/τ_a} and b∘e^{−g/τ_b} on a relaxed side.
        let wanted tau (w: float[]) (h: float[]) =
            if Double.IsPositiveInfinity tau then w else Array.init w.Length (Unbalanced.targetMass tau w h)
        let err = l1 rowMass (wanted p.Relaxation.TauA p.A s.F) + l1 columnMass (wanted p.Relaxation.TauB p.B s.G)
        if not (Double.IsFinite err) then
            raise (NumericalFailureException(sprintf "The returned plan's marginals are not finite after %d iterations at ε = %g." s.Iterations s.Epsilon, s.Iterations, err))
        plan.Reassess(err, s.Converged && err < options.Tolerance)
        if options.RequireConvergence && not plan.Converged then
            raise (SinkhornConvergenceException(
                sprintf "Sinkhorn did not reach tolerance %g in %d iterations (marginal error %g at ε = %g). Allow more iterations (MaxIterations), a looser tolerance, a larger ε, annealing (Anneal) or L-BFGS (Solver = Auto or Lbfgs); or accept the returned plan with AllowUnconverged." options.Tolerance s.Iterations err s.Epsilon,
                s.Iterations, err, options.Tolerance, s.Epsilon))
        plan

    /// Refuses, before anything is allocated, a streamed solve that cannot fit: besides its input it holds the centred
    /// copy of both clouds and two SIMD layouts of each (three copies of the coordinates), and about two dozen vectors of
    /// n or m (weights, potentials and the loop's next f, log-weights, the measured marginals and P y, the passes' pooled
    /// terms and outputs, the result's copies). A 5-million-point solve under a 768 MiB heap limit otherwise failed with a
    /// bare OutOfMemoryException; with a dozen vectors counted, 1.2 million points under 256 MiB still ran out after the
    /// solve.
    let private requireMemory (p: OtProblem) =
        match p.Geometry with
        | PointClouds (x, y) | CloudsWithCost (x, y, _) ->
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
            raise (ArgumentException("A symmetric solve needs a self-transport problem: the same points and weights on both sides, a symmetric ground cost (c(x, y) = c(y, x)), and for unbalanced transport one τ on both (TauA = TauB).", "problem"))
        requireMemory problem
        let operator = backend.Prepare(OtProblem.centred problem)
        try
            let checkedOptions, eps = resolved operator options
            verify (new SolvedPlan(operator, SinkhornLoop.iterateSymmetric operator checkedOptions eps, true)) options
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
