namespace OtNative.Core

open System
open System.Diagnostics
open OtNative

/// L-BFGS on the semi-dual (math.md §6, after Qiu et al.): maximise D(g) = ⟨a, f(g)⟩ + ⟨b, g⟩ with f(g) the exact
/// f-update (one streamed softmin), whose gradient is b − Pᵀ1 (one streamed column pass). An evaluation costs two
/// passes, like a Sinkhorn iteration; at small ε far fewer are needed, because quasi-Newton steps follow the curvature
/// that alternating projections crawl along.
module SemiDualLbfgs =
    /// Pairs (s, y) kept: enough to capture the stiff directions of small-ε problems, small next to m.
    let private memory = 10
    /// Armijo's sufficient-decrease constant and the most halvings one line search may take.
    let private armijo = 1e-4
    let private maxHalvings = 40
    /// float64's unit roundoff.
    let private epsilon = Math.Pow(2.0, -52.0)

    /// Runs to the options' tolerance on the column error ‖Pᵀ1 − b‖₁ (the row marginal is exact after f(g)),
    /// counting evaluations as iterations, from g0. Returns the solve's result at ε.
    let iterate (operator: ITransportOperator) (options: SinkhornOptions) (eps: float) (g0: float[]) =
        let p = operator.Problem
        let sw = Stopwatch.StartNew()
        let n, m = p.N, p.M
        let ones = Matrix.Column(Array.create n 1.0)
        let f = Array.zeroCreate n
        // Mixed precision (math.md §1): the evaluations' f-update takes float32 exponentials while the column error is above
        // `mixedUntil`, where float32's rounding is far below what the steps change; below it, and after a line search
        // that finds no step (float32's noise can hide a descent), every evaluation is float64, so convergence and the
        // returned plan are decided on float64 evaluations.
        let mixedStep =
            match operator with
            | :? IMixedHalfStep as m when m.Worthwhile && options.Precision = Precision.Mixed -> Some m
            | _ -> None
        let mixedUntil = max (StoppingRule.threshold options.Tolerance) (100.0 * Precision.mixedFloor)
        let mutable mixed = mixedStep.IsSome
        let mutable mixedEvaluations = 0
        // Pᵀ1 of (f, g): into one buffer, every evaluation, where the operator measures it itself (`IMomentPasses`).
        let columnMass = Array.zeroCreate m
        let columnMassOf (g: float[]) =
            match operator with
            | :? IMomentPasses as passes ->
                passes.ColumnMass(eps, f, g, columnMass, options.Cancellation)
                columnMass
            | _ -> (operator.Apply(Cols, eps, f, g, ones, false)).Data
                // φ(g) = −D(g) and ∇φ = Pᵀ1 − b, with the f it implies, the column error, and the rounding φ carries
        // (a few ulps of its terms' magnitudes).
        let evaluate (g: float[]) =
            match mixedStep with
            | Some m when mixed ->
                m.SoftminMixed(Rows, eps, g, f, options.Cancellation)
                mixedEvaluations <- mixedEvaluations + 1
            | _ -> operator.Softmin(Rows, eps, g, f, options.Cancellation)
            let s = columnMassOf g
            let value = -(Dense.dot p.A f + Dense.dot p.B g)
            let gradient = Array.init m (fun j -> s.[j] - p.B.[j])
            let err = Array.sumBy abs gradient
            let mutable magnitude = 0.0
            for i in 0 .. n - 1 do magnitude <- magnitude + abs (p.A.[i] * f.[i])
            for j in 0 .. m - 1 do magnitude <- magnitude + abs (p.B.[j] * g.[j])
            value, gradient, err, 64.0 * epsilon * magnitude
        // The Hessian of φ is about diag(b)/ε: its inverse scales the first steps into potential units.
        let diagonal = p.B |> Array.map (fun bj -> eps / bj)
        let g = Array.copy g0
        let mutable value, gradient, err, _ = evaluate g
        let history = Collections.Generic.List<float[] * float[] * float>()
        let mutable evaluations = 1
        let stopAt = StoppingRule.threshold options.Tolerance
        // Ends the float32 evaluations, evaluating g again in float64.
        let toFloat64 () =
            mixed <- false
            let v, grad, e, _ = evaluate g
            value <- v
            gradient <- grad
            err <- e
            evaluations <- evaluations + 1
        if mixed && err < mixedUntil then toFloat64 ()
        let mutable converged = err < stopAt
        let mutable stalled = false
        // Whether f (the evaluations' shared buffer) belongs to g: a rejected trial leaves it belonging to the trial.
        let mutable fIsOfG = true
        // The cap counts every evaluation, the line search's and the final one's: one is kept for the final.
        let budget = options.MaxIterations - 1
        while not converged && not stalled && evaluations < budget do
            options.Cancellation.ThrowIfCancellationRequested()
            // Two-loop recursion with the diagonal scaled by the latest curvature pair.
            let q = Array.copy gradient
            let alphas = Array.zeroCreate history.Count
            for k in history.Count - 1 .. -1 .. 0 do
                let s, y, rho = history.[k]
                alphas.[k] <- rho * Dense.dot s q
                for j in 0 .. m - 1 do q.[j] <- q.[j] - alphas.[k] * y.[j]
            let gamma =
                if history.Count = 0 then 1.0
                else
                    let s, y, _ = history.[history.Count - 1]
                    Dense.dot s y / Array.fold2 (fun acc yj dj -> acc + yj * yj * dj) 0.0 y diagonal
            let r = Array.init m (fun j -> gamma * diagonal.[j] * q.[j])
            for k in 0 .. history.Count - 1 do
                let s, y, rho = history.[k]
                let beta = rho * Dense.dot y r
                for j in 0 .. m - 1 do r.[j] <- r.[j] + s.[j] * (alphas.[k] - beta)
            let direction = Array.map (fun v -> -v) r
            let slope = Dense.dot gradient direction
            // A direction that does not descend (rounding in the pairs) restarts from the scaled gradient.
            let direction, slope =
                if slope < 0.0 then direction, slope
                else
                    history.Clear()
                    let d = Array.init m (fun j -> -diagonal.[j] * gradient.[j])
                    d, Dense.dot gradient d
            let mutable step = 1.0
            let mutable halvings = 0
            let mutable accepted = false
            let trial = Array.zeroCreate m
            while not accepted && halvings <= maxHalvings && evaluations < budget do
                for j in 0 .. m - 1 do trial.[j] <- g.[j] + step * direction.[j]
                let v, grad, e, noise = evaluate trial
                evaluations <- evaluations + 1
                fIsOfG <- false
                // Near the answer the decrease Armijo asks for (about ε err²) falls below φ's rounding: there a step
                // that keeps φ within its rounding and lowers the marginal error is taken, where the test alone
                // would refuse every step, or take rounding noise for progress.
                let sufficient = v <= value + armijo * step * slope || (v <= value + noise && e < err)
                if Double.IsFinite v && sufficient then
                    let s = Array.init m (fun j -> trial.[j] - g.[j])
                    let y = Array.init m (fun j -> grad.[j] - gradient.[j])
                    let sy = Dense.dot s y
                    if sy > 1e-300 then
                        history.Add((s, y, 1.0 / sy))
                        if history.Count > memory then history.RemoveAt 0
                    Array.blit trial 0 g 0 m
                    value <- v
                    gradient <- grad
                    err <- e
                    accepted <- true
                    fIsOfG <- true
                else
                    step <- 0.5 * step
                    halvings <- halvings + 1
            // No decrease along the quasi-Newton direction: its curvature pairs can come from where the semi-dual is flat
            // (a column without mass, at small ε) and promise far too long a step; the scaled gradient is tried next.
            // No decrease along that either: the objective is flat to rounding, nothing more to gain — in float64; in
            // float32 the evaluations go on in float64 first.
            if not accepted && evaluations < budget then
                if mixed then
                    history.Clear()
                    toFloat64 ()
                    fIsOfG <- true
                elif history.Count > 0 then history.Clear() else stalled <- true
            elif mixed && err < mixedUntil && evaluations < budget then
                toFloat64 ()
                fIsOfG <- true
            converged <- err < stopAt
            match options.Progress with
            | Some report when evaluations % options.ProgressInterval = 0 ->
                report { Iteration = evaluations; MarginalError = err; Elapsed = sw.Elapsed; ProblemIndex = -1 }
            | _ -> ()
        // f belongs to the last evaluation, which may be a rejected trial, or a float32 one: then it is recomputed, in
        // float64, for the accepted g.
        let finalValue, finalErr =
            if fIsOfG && not mixed then value, err
            else
                mixed <- false
                evaluations <- evaluations + 1
                let v, _, e, _ = evaluate g
                v, e
        { F = Array.copy f; G = g; Epsilon = eps; Value = -finalValue; Iterations = evaluations
          MarginalError = finalErr; Converged = finalErr < options.Tolerance; Passes = 2 * evaluations
          SwitchedToLbfgsAt = None; MixedIterations = mixedEvaluations; Elapsed = sw.Elapsed }
