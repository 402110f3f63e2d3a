namespace OtNative.Applications

open System
open OtNative.Core
open System.Diagnostics

/// Which stage produced an iteration of a shuffled-regression fit.
type RegressionStage =
    | StochasticGradient
    | RelaxedNewton
    | GradientDescent

/// One iteration of a fit, measured at the parameters before the step.
type RegressionIteration =
    { Iteration: int
      Stage: RegressionStage
      /// L_ε(Xθ, Y) on the full data.
      Loss: float
      /// ‖∇_φ L‖ on the full data (φ = θ for a general linear map).
      GradientNorm: float
      /// ‖θ − θ*‖_F when θ* is known, NaN otherwise.
      ParameterError: float
      /// Eigenvalue range of ∇²_φ L where it was computed (Newton steps, SGD switch checks), NaN elsewhere.
      MinEigenvalue: float
      MaxEigenvalue: float
      /// The Newton system was not positive definite and a damped step was taken.
      Damped: bool
      /// The step size taken from these parameters (after backtracking for Newton); 0 on the last iteration.
      StepSize: float
      SinkhornIterations: int
      /// Whether this evaluation's solve reached its tolerance (the loss and gradient are those of its plan either way).
      SinkhornConverged: bool
      /// Whether the CG behind a matrix-free parameter Hessian reached its tolerance (true where none ran).
      HessianCgConverged: bool
      /// Wall time since the fit began.
      Seconds: float }

/// Settings of Algorithm 2 (math.md §5); the defaults are the paper's.
type ShuffledRegressionOptions =
    { /// ε of L_ε (paper: 0.05, absolute).
      Epsilon: Epsilon
      /// Sinkhorn tolerance; None = the paper's 0.01 / n^0.33.
      SinkhornTolerance: float option
      SinkhornMaxIterations: int
      /// SGD mini-batch size n_s (rows of X per step, weights renormalised).
      BatchSize: int
      SgdLearningRate: float
      /// SGD steps at most before Newton.
      MaxSgd: int
      /// Every this many SGD steps the full parameter Hessian is checked; Newton starts once it is positive definite.
      HessianCheckEvery: int
      /// Relaxed Newton step η_N.
      NewtonLearningRate: float
      /// Halvings of η_N allowed when a Newton step would raise the loss (0 = the paper's plain relaxed Newton).
      MaxBacktracking: int
      MaxNewton: int
      /// Newton stops after this many consecutive steps that improve the loss by less than `MinImprovement`.
      Patience: int
      MinImprovement: float
      GdLearningRate: float
      MaxGd: int
      /// Gradient descent stops within this absolute distance of the target loss (Newton's final loss).
      GdLossGap: float
      /// Seeds the mini-batch draws.
      Seed: int
      Cg: CgOptions
      /// Where the solves, Hessians and Newton systems run.
      Backend: IBackend
      /// Checked before every evaluation (and inside each solve and CG): a cancelled fit throws
      /// OperationCanceledException.
      Cancellation: Threading.CancellationToken
      Progress: (RegressionIteration -> unit) option }

    /// The paper's Gaussian-mixture settings: ε = 0.05, batch 100, SGD 15 steps, Newton η 0.5, patience 3
    /// at 1e-4, GD up to 2000 steps within 1e-2 of Newton's loss. The SGD and GD rates are 1e-2, ten times
    /// the paper's 1e-3, because `Synthetic.gaussianMixtureRegression` draws θ* on X's scale and its
    /// gradients are about ten times smaller than with the paper's unit-variance θ*.
    static member Default =
        { Epsilon = Absolute 0.05
          SinkhornTolerance = None
          SinkhornMaxIterations = 20_000
          BatchSize = 100
          SgdLearningRate = 1e-2
          MaxSgd = 15
          HessianCheckEvery = 5
          NewtonLearningRate = 0.5
          MaxBacktracking = 6
          MaxNewton = 50
          Patience = 3
          MinImprovement = 1e-4
          GdLearningRate = 1e-2
          MaxGd = 2000
          GdLossGap = 1e-2
          Seed = 0
          // A Newton step needs the Hessian to a few digits, not to 1e-10.
          Cg = { CgOptions.Default with Tolerance = 1e-8 }
          Backend = CpuBackend.Instance
          Cancellation = Threading.CancellationToken.None
          Progress = None }

/// A shuffled-regression problem: fit Y ≈ Xθ without knowing which row of Y belongs to which row of X.
type ShuffledRegressionProblem =
    { /// Design X (n×p).
      Design: Matrix
      /// Targets Y (m×d), in any order; m ≠ n allowed.
      Targets: Matrix
      /// Weights of the rows of X and Y (uniform when None).
      DesignWeights: float[] option
      TargetWeights: float[] option
      /// θ* when known (p×d), for the parameter error.
      TrueParameters: Matrix option }

/// The outcome of one fit.
type RegressionFit =
    { /// θ at the end.
      Parameters: Matrix
      /// φ at the end (θ's entries for a general linear map).
      MapParameters: float[]
      History: RegressionIteration[]
      /// Steps taken by this stage (Newton or GD), not counting the shared SGD stage.
      Iterations: int
      Seconds: float
      FinalLoss: float
      /// ‖θ − θ*‖_F at the end, NaN when θ* is unknown.
      ParameterError: float
      /// Why it stopped.
      StopReason: string }

/// SGD → Newton against SGD → GD from the same SGD stage.
type RegressionComparison =
    { /// The shared stage-1 iterations and where they ended.
      Sgd: RegressionIteration[]
      SgdParameters: Matrix
      SgdMapParameters: float[]
      Newton: RegressionFit
      GradientDescent: RegressionFit }

/// Shuffled regression by SGD → relaxed Newton (Algorithm 2, math.md §5) and the gradient-descent baseline.
module ShuffledRegression =
    /// An eigenvalue below this fraction of the largest is zero to float64 rounding (≈ 4500 ulps of the
    /// largest): the matrix is treated as singular (design) or not positive definite (Newton system).
    let private singularRatio = 1e-12

    let private frobenius (m: Matrix) = Dense.frobenius m

    let private validate (problem: ShuffledRegressionProblem) (o: ShuffledRegressionOptions) =
        let x, y = problem.Design, problem.Targets
        Validation.pointCloud "design" x
        Validation.pointCloud "targets" y
        Validation.positive "sgdLearningRate" o.SgdLearningRate
        Validation.positive "newtonLearningRate" o.NewtonLearningRate
        Validation.positive "gdLearningRate" o.GdLearningRate
        if o.BatchSize < 1 || o.BatchSize > x.Rows then
            raise (ArgumentException(sprintf "batchSize must be between 1 and n = %d, got %d." x.Rows o.BatchSize, "batchSize"))
        if o.HessianCheckEvery < 1 then raise (ArgumentException("hessianCheckEvery must be at least 1.", "hessianCheckEvery"))
        if o.MaxSgd < 0 || o.MaxNewton < 1 || o.MaxGd < 1 || o.Patience < 1 then
            raise (ArgumentException("maxSgd must be ≥ 0 and maxNewton, maxGd, patience ≥ 1."))
        problem.TrueParameters |> Option.iter (Validation.shape "trueParameters" x.Cols y.Cols)
        // A rank-deficient design makes ∇²_θ L = (X ⊗ I)ᵀ Hess (X ⊗ I) singular for every θ.
        let la = o.Backend.LinearAlgebra
        let values, _ = la.SymmetricEigen(la.Gram(x, true))
        if values.[0] <= singularRatio * values.[values.Length - 1] then
            raise (ArgumentException(sprintf "the design X (%d×%d) has rank below %d: the Newton system would be singular. Remove dependent columns." x.Rows x.Cols x.Cols, "design"))

    /// Evaluates L, ∇_φ L and optionally ∇²_φ L at φ on the rows `rows` of X (all when None),
    /// warm-starting Sinkhorn from the previous g: ∇_φ = Jᵀ ∇_θ, ∇²_φ = Jᵀ ∇²_θ J + the curvature term.
    /// One evaluation of the objective at φ: the solve's diagnostics, ∇_φ L and, when asked, ∇²_φ L with the CG
    /// report of the parameter Hessian when it came from Hessian-vector products.
    type private Evaluation =
        { Solution: SinkhornSolution
          Gradient: float[]
          Hessian: Matrix option
          HessianCg: CgReport option }

    type private Evaluator(problem: ShuffledRegressionProblem, map: ParameterMap, o: ShuffledRegressionOptions) =
        let x, y = problem.Design, problem.Targets
        let n = x.Rows
        let tolerance = defaultArg o.SinkhornTolerance (0.01 / (float n ** 0.33))
        let mutable warmG: float[] option = None

        member _.Evaluate(phi: float[], rows: int[] option, withHessian: bool) =
            let theta = map.ToTheta phi
            let design, weights =
                match rows with
                | None -> x, problem.DesignWeights
                | Some idx ->
                    let p = x.Cols
                    let sub = Matrix(idx.Length, p, Array.init (idx.Length * p) (fun t -> x.[idx.[t / p], t % p]))
                    let w = idx |> Array.map (fun i -> match problem.DesignWeights with Some w -> w.[i] | None -> 1.0)
                    sub, Some w
            let points = Dense.times design theta
            let ot = OtProblem.createWith points y weights problem.TargetWeights rows.IsSome
            o.Cancellation.ThrowIfCancellationRequested()
            let opts = { SinkhornOptions.Default with Epsilon = o.Epsilon; Tolerance = tolerance; MaxIterations = o.SinkhornMaxIterations; Start = (match warmG with Some g -> Start.FromG g | None -> Start.Initialised); Cancellation = o.Cancellation }
            use plan = Sinkhorn.solve o.Backend ot opts
            warmG <- Some plan.G
            let gradTheta = Gradients.linearModel design (Gradients.eot plan)
            let jac = map.Jacobian phi
            let grad = (Dense.transposeTimes jac (Matrix.Column gradTheta.Data)).Data
            let hessian =
                if withHessian then
                    let hTheta = ParameterHessian.compute plan design { o.Cg with Cancellation = o.Cancellation }
                    let chained = Dense.transposeTimes jac (Dense.times hTheta.Hessian jac)
                    let curvature = map.Curvature phi gradTheta
                    Some(Matrix(map.Size, map.Size, Array.map2 (+) chained.Data curvature.Data)), hTheta.Cg
                else None, None
            { Solution = plan.Solution; Gradient = grad; Hessian = fst hessian; HessianCg = snd hessian }

    let private parameterError (problem: ShuffledRegressionProblem) (theta: Matrix) =
        match problem.TrueParameters with
        | Some t -> frobenius (Matrix(t.Rows, t.Cols, Array.map2 (-) theta.Data t.Data))
        | None -> nan

    let private step (phi: float[]) (rate: float) (direction: float[]) = Array.mapi (fun i v -> v - rate * direction.[i]) phi

    /// A Newton direction H⁻¹g from the eigen-decomposition of the small (p·d)² Hessian. When H is not
    /// positive definite the step is damped: each eigenvalue is replaced by max(|λ|, 1e-2·max|λ|), which
    /// turns ascent directions into descent and bounds the step (a "saddle-free" Newton step), and flagged;
    /// a zero Hessian gives the gradient direction.
    let private newtonDirection (la: ILinearAlgebra) (hess: Matrix) (grad: float[]) =
        let values, vectors = la.SymmetricEigen hess
        let lmin, lmax = values.[0], values.[values.Length - 1]
        let scale = values |> Array.map abs |> Array.max
        let damped = lmin <= singularRatio * scale
        let effective = values |> Array.map (fun v -> if scale = 0.0 then 1.0 elif damped then max (abs v) (1e-2 * scale) else v)
        let size = grad.Length
        let proj = Array.init size (fun i -> (Array.init size (fun k -> vectors.[k, i] * grad.[k]) |> Array.sum) / effective.[i])
        Array.init size (fun k -> Array.init size (fun i -> vectors.[k, i] * proj.[i]) |> Array.sum), lmin, lmax, damped

    let private minMax (la: ILinearAlgebra) (hess: Matrix) =
        let values, _ = la.SymmetricEigen hess
        values.[0], values.[values.Length - 1]

    type private Recorder(problem, map: ParameterMap, o: ShuffledRegressionOptions, clock: Stopwatch) =
        let history = ResizeArray<RegressionIteration>()
        member _.Add(stage, phi, e: Evaluation, lmin, lmax, damped, stepSize) =
            let it =
                { Iteration = history.Count; Stage = stage; Loss = e.Solution.Value; GradientNorm = sqrt (Array.sumBy (fun v -> v * v) e.Gradient)
                  ParameterError = parameterError problem (map.ToTheta phi); MinEigenvalue = lmin; MaxEigenvalue = lmax
                  Damped = damped; StepSize = stepSize; SinkhornIterations = e.Solution.Iterations; SinkhornConverged = e.Solution.Converged
                  HessianCgConverged = e.HessianCg |> Option.forall (fun r -> r.Converged); Seconds = clock.Elapsed.TotalSeconds }
            history.Add it
            o.Progress |> Option.iter (fun report -> report it)
        member _.History = history.ToArray()

    /// Checks the inputs and starts the clock, the evaluator and the history of one stage.
    let private startStage problem (map: ParameterMap) (phi0: float[]) o =
        validate problem o
        Validation.vector "phi0" map.Size phi0
        Validation.shape "theta0" problem.Design.Cols problem.Targets.Cols (map.ToTheta phi0)
        let clock = Stopwatch.StartNew()
        clock, Evaluator(problem, map, o), Recorder(problem, map, o, clock)

    let private finish problem (map: ParameterMap) (record: Recorder) (clock: Stopwatch) phi steps loss reason =
        let theta = map.ToTheta phi
        { Parameters = theta; MapParameters = phi; History = record.History; Iterations = steps; Seconds = clock.Elapsed.TotalSeconds
          FinalLoss = loss; ParameterError = parameterError problem theta; StopReason = reason }

    let private linearOf (problem: ShuffledRegressionProblem) = ParameterMap.linear problem.Design.Cols problem.Targets.Cols

    let private linearStart (problem: ShuffledRegressionProblem) (theta0: Matrix) =
        Validation.shape "theta0" problem.Design.Cols problem.Targets.Cols theta0
        theta0.Data

    /// The loss L_ε(X·map(φ), Y) on all rows, its gradient in φ and, when asked, its Hessian in φ — for
    /// custom optimisers and for checking a parameterisation.
    let objective (map: ParameterMap) (problem: ShuffledRegressionProblem) (phi: float[]) (withHessian: bool) (o: ShuffledRegressionOptions) =
        validate problem o
        Validation.vector "phi" map.Size phi
        let e = Evaluator(problem, map, o).Evaluate(phi, None, withHessian)
        e.Solution.Value, e.Gradient, e.Hessian

    /// Stage 1: SGD on mini-batches until the full parameter Hessian is positive definite (checked every
    /// `HessianCheckEvery` steps) or `MaxSgd` steps. Returns θ and the SGD iterations.
    let stochasticStageWith (map: ParameterMap) (problem: ShuffledRegressionProblem) (phi0: float[]) (o: ShuffledRegressionOptions) =
        let clock, eval, record = startStage problem map phi0 o
        let rng = Random(o.Seed)
        let n = problem.Design.Rows
        let mutable phi = phi0
        let mutable stop = false
        let mutable t = 0
        while not stop && t < o.MaxSgd do
            let check = t % o.HessianCheckEvery = 0
            let e = eval.Evaluate(phi, None, check)
            let lmin, lmax = match e.Hessian with Some h -> minMax o.Backend.LinearAlgebra h | None -> nan, nan
            let switch = check && lmin > 0.0
            record.Add(StochasticGradient, phi, e, lmin, lmax, false, (if switch then 0.0 else o.SgdLearningRate))
            if switch then stop <- true
            else
                let batch = Array.init n id |> Array.sortBy (fun _ -> rng.Next()) |> Array.truncate o.BatchSize |> Array.sort
                phi <- step phi o.SgdLearningRate (eval.Evaluate(phi, Some batch, false)).Gradient
                t <- t + 1
        phi, record.History

    /// Stage 1 for the general linear map θ (p×d).
    let stochasticStage (problem: ShuffledRegressionProblem) (theta0: Matrix) (o: ShuffledRegressionOptions) =
        let map = linearOf problem
        let phi, history = stochasticStageWith map problem (linearStart problem theta0) o
        map.ToTheta phi, history

    /// Stage 2: relaxed Newton θ ← θ − η_N (∇²_θ L)⁻¹ ∇_θ L from θ0, until the loss improves by less than
    /// `MinImprovement` for `Patience` steps in a row or `MaxNewton` steps. A step that would raise the loss
    /// is retried with η halved, at most `MaxBacktracking` times.
    let relaxedNewtonWith (map: ParameterMap) (problem: ShuffledRegressionProblem) (phi0: float[]) (o: ShuffledRegressionOptions) =
        let clock, eval, record = startStage problem map phi0 o
        let mutable phi = phi0
        let mutable current = eval.Evaluate(phi, None, true)
        let mutable previous = infinity
        let mutable flat = 0
        let mutable k = 0
        let mutable reason = sprintf "reached maxNewton = %d" o.MaxNewton
        let mutable last = nan
        let mutable stop = false
        while not stop do
            let e = current
            let loss = e.Solution.Value
            let direction, lmin, lmax, damped = newtonDirection o.Backend.LinearAlgebra e.Hessian.Value e.Gradient
            last <- loss
            if previous - loss < o.MinImprovement then flat <- flat + 1 else flat <- 0
            previous <- min previous loss
            if flat >= o.Patience || k >= o.MaxNewton then
                if flat >= o.Patience then reason <- sprintf "loss improved by less than %g for %d steps" o.MinImprovement o.Patience
                record.Add(RelaxedNewton, phi, e, lmin, lmax, damped, 0.0)
                stop <- true
            else
                let mutable eta = o.NewtonLearningRate
                let mutable candidate = eval.Evaluate(step phi eta direction, None, true)
                let mutable halvings = 0
                while candidate.Solution.Value > loss && halvings < o.MaxBacktracking do
                    eta <- 0.5 * eta
                    halvings <- halvings + 1
                    candidate <- eval.Evaluate(step phi eta direction, None, true)
                if candidate.Solution.Value > loss then
                    reason <- sprintf "no step along the Newton direction lowers the loss (η down to %g)" eta
                    record.Add(RelaxedNewton, phi, e, lmin, lmax, damped, 0.0)
                    stop <- true
                else
                    record.Add(RelaxedNewton, phi, e, lmin, lmax, damped, eta)
                    phi <- step phi eta direction
                    current <- candidate
                    k <- k + 1
        finish problem map record clock phi k last reason

    /// Stage 2 for the general linear map θ (p×d).
    let relaxedNewton (problem: ShuffledRegressionProblem) (theta0: Matrix) (o: ShuffledRegressionOptions) =
        relaxedNewtonWith (linearOf problem) problem (linearStart problem theta0) o

    /// The baseline: full-batch gradient descent from θ0 until the loss is within `GdLossGap` of
    /// `targetLoss` (Newton's final loss) or `MaxGd` steps.
    let gradientDescentWith (map: ParameterMap) (problem: ShuffledRegressionProblem) (phi0: float[]) (targetLoss: float) (o: ShuffledRegressionOptions) =
        let clock, eval, record = startStage problem map phi0 o
        let mutable phi = phi0
        let mutable k = 0
        let mutable reached = false
        let mutable last = nan
        while k < o.MaxGd && not reached do
            let e = eval.Evaluate(phi, None, false)
            last <- e.Solution.Value
            reached <- e.Solution.Value <= targetLoss + o.GdLossGap
            record.Add(GradientDescent, phi, e, nan, nan, false, (if reached then 0.0 else o.GdLearningRate))
            if not reached then
                phi <- step phi o.GdLearningRate e.Gradient
                k <- k + 1
        finish problem map record clock phi k last
            (if reached then sprintf "loss within %g of the target %g" o.GdLossGap targetLoss else sprintf "reached maxGd = %d" o.MaxGd)

    /// The baseline for the general linear map θ (p×d).
    let gradientDescent (problem: ShuffledRegressionProblem) (theta0: Matrix) (targetLoss: float) (o: ShuffledRegressionOptions) =
        gradientDescentWith (linearOf problem) problem (linearStart problem theta0) targetLoss o

    /// Algorithm 2 and its baseline from the same start: the SGD stage once, then relaxed Newton, then GD
    /// until it comes within `GdLossGap` of Newton's final loss.
    let compareWith (map: ParameterMap) (problem: ShuffledRegressionProblem) (phi0: float[]) (o: ShuffledRegressionOptions) =
        let phiSgd, sgd = stochasticStageWith map problem phi0 o
        let newton = relaxedNewtonWith map problem phiSgd o
        let gd = gradientDescentWith map problem phiSgd newton.FinalLoss o
        { Sgd = sgd; SgdParameters = map.ToTheta phiSgd; SgdMapParameters = phiSgd; Newton = newton; GradientDescent = gd }

    /// `compareWith` for the general linear map θ (p×d).
    let compare (problem: ShuffledRegressionProblem) (theta0: Matrix) (o: ShuffledRegressionOptions) =
        compareWith (linearOf problem) problem (linearStart problem theta0) o
