namespace OtNative.Core

open System

/// The pieces of a Sinkhorn loop that change when the marginals are relaxed (math.md §9). With penalties
/// τ_a KL(P1 ‖ a) + τ_b KL(Pᵀ1 ‖ b), each update is the balanced soft-min shrunk by κ = τ/(τ + ε), the optimality
/// conditions become P1 = a∘e^{−f/τ_a} and Pᵀ1 = b∘e^{−g/τ_b}, and the dual objective gains the mass terms. A balanced
/// side (τ = ∞) gives κ = 1 and the balanced formulas.
module Unbalanced =
    /// κ = τ/(τ + ε): the factor on an update of the side relaxed by τ (1 when balanced).
    let kappa (tau: float) (eps: float) = if Double.IsPositiveInfinity tau then 1.0 else tau / (tau + eps)

    /// Multiplies a potential just computed by the balanced soft-min by κ, in place (nothing when κ = 1).
    let shrink (kappa: float) (potential: float[]) =
        if kappa <> 1.0 then
            for i in 0 .. potential.Length - 1 do potential.[i] <- kappa * potential.[i]

    /// e^x − 1 without the cancellation of exp x − 1 for small x (Kahan's form): the mass terms at large τ are
    /// τ(1 − e^{−h/τ}) with h/τ tiny.
    let expm1 (x: float) =
        let u = exp x
        if u = 1.0 then x
        elif u - 1.0 = -1.0 then -1.0
        else (u - 1.0) * x / log u

    /// The mass a side's optimality condition asks of point i: w_i e^{−h_i/τ} (w_i when balanced).
    let targetMass (tau: float) (w: float[]) (h: float[]) i =
        if Double.IsPositiveInfinity tau then w.[i] else w.[i] * exp (-h.[i] / tau)

    /// τ⟨w, 1 − e^{−h/τ}⟩, the dual's term of a side (⟨w, h⟩ when balanced, its limit).
    let dualTerm (tau: float) (w: float[]) (h: float[]) =
        let mutable s = 0.0
        if Double.IsPositiveInfinity tau then
            for i in 0 .. w.Length - 1 do s <- s + w.[i] * h.[i]
        else
            for i in 0 .. w.Length - 1 do s <- s - tau * w.[i] * expm1 (-h.[i] / tau)
        s

    /// The row error of the plan (f, g) after the f-update fNext = κ_a softmin(g): its row mass is
    /// a_i exp((f_i − fNext_i/κ_a)/ε), compared with a_i e^{−f_i/τ_a}.
    let rowError (tauA: float) (eps: float) (a: float[]) (f: float[]) (fNext: float[]) =
        let k = kappa tauA eps
        let mutable e = 0.0
        for i in 0 .. a.Length - 1 do
            e <- e + abs (a.[i] * exp ((f.[i] - fNext.[i] / k) / eps) - targetMass tauA a f i)
        e

    /// The dual objective τ_a⟨a, 1 − e^{−f/τ_a}⟩ + τ_b⟨b, 1 − e^{−g/τ_b}⟩ − ε(ΣP − 1) of a plan of total mass `mass`.
    let dualValue (p: OtProblem) (eps: float) (f: float[]) (g: float[]) (mass: float) =
        dualTerm p.Relaxation.TauA p.A f + dualTerm p.Relaxation.TauB p.B g - eps * (mass - 1.0)

    /// The plan's mass right after an exact g-update: Σ_j b_j e^{−g_j/τ_b} (1 when balanced).
    let massAfterColumnUpdate (p: OtProblem) (g: float[]) =
        let mutable s = 0.0
        for j in 0 .. p.M - 1 do s <- s + targetMass p.Relaxation.TauB p.B g j
        s

    /// The translation step of a problem relaxed on both sides: the dual is unchanged by (f + λ, g − λ) except for its
    /// mass terms, and the λ that maximises it, λ = τ_aτ_b/(τ_a + τ_b) · log(⟨a, e^{−f/τ_a}⟩ / ⟨b, e^{−g/τ_b}⟩), is added
    /// to f before the next g-update. Without it the translation is the slowest mode of the updates, contracting by
    /// about 1 − ε/τ an iteration: at τ = 10⁷ × ε a solve stalled at marginal error 3e-8 after 200 000 iterations.
    /// (Séjourné, Vialard, Peyré, "Faster unbalanced optimal transport: translation invariant Sinkhorn", AISTATS 2022.)
    let translate (relaxation: Relaxation) (p: OtProblem) (f: float[]) (g: float[]) =
        let tauA, tauB = relaxation.TauA, relaxation.TauB
        if not (Double.IsPositiveInfinity tauA || Double.IsPositiveInfinity tauB) then
            let mutable massA = 0.0
            for i in 0 .. f.Length - 1 do massA <- massA + targetMass tauA p.A f i
            let mutable massB = 0.0
            for j in 0 .. g.Length - 1 do massB <- massB + targetMass tauB p.B g j
            let lambda = tauA * tauB / (tauA + tauB) * log (massA / massB)
            if Double.IsFinite lambda then
                for i in 0 .. f.Length - 1 do f.[i] <- f.[i] + lambda

    /// KL(u ‖ w) = Σ u log(u/w) − u + w, the penalty of a relaxed side.
    let kl (u: float[]) (w: float[]) =
        let mutable s = 0.0
        for i in 0 .. u.Length - 1 do
            s <- s + (if u.[i] > 0.0 then u.[i] * log (u.[i] / w.[i]) else 0.0) - u.[i] + w.[i]
        s
