// The arithmetic of the OtNative CUDA kernels, shared by the device code (nvcc, NVRTC) and by g++ for the
// CPU unit tests (CTest). Kernels are thin tiling/reduction wrappers around these functions, so what the
// tests check is what the GPU computes. No standard headers under NVRTC: it has its own math built in.
#pragma once

#if defined(__CUDACC__) || defined(__CUDACC_RTC__)
#define OTN_HD __host__ __device__ __forceinline__
#else
#include <cmath>
#include <limits>
#define OTN_HD inline
using std::exp;
using std::log;
#endif

namespace otn {

/// −∞ in float64 on either side.
OTN_HD double neg_inf() {
#if defined(__CUDA_ARCH__)
    return __longlong_as_double(0xfff0000000000000ULL);
#else
    return -std::numeric_limits<double>::infinity();
#endif
}

/// A streamed log-sum-exp: the running maximum and the sum of exp(v − max) so far.
struct LseState {
    double max;
    double sum;
};

OTN_HD LseState lse_empty() { return LseState{neg_inf(), 0.0}; }

/// Adds one term. A −∞ term (padding, zero weight) changes nothing.
OTN_HD void lse_push(LseState& s, double v) {
    if (v <= s.max) {
        if (v != neg_inf()) s.sum += exp(v - s.max);
    } else {
        s.sum = (s.max == neg_inf() ? 0.0 : s.sum * exp(s.max - v)) + 1.0;
        s.max = v;
    }
}

/// Combines two partial reductions (tiles, warps) into one.
OTN_HD LseState lse_merge(LseState a, LseState b) {
    if (b.max == neg_inf()) return a;
    if (a.max == neg_inf()) return b;
    return a.max >= b.max ? LseState{a.max, a.sum + b.sum * exp(b.max - a.max)}
                          : LseState{b.max, b.sum + a.sum * exp(a.max - b.max)};
}

/// log Σ exp(v), −∞ for an empty reduction.
OTN_HD double lse_value(LseState s) { return s.max == neg_inf() ? s.max : s.max + log(s.sum); }

/// ‖x − y‖², the direct form (accurate wherever the clouds sit).
OTN_HD double sq_dist(const double* x, const double* y, int d) {
    double acc = 0.0;
    for (int k = 0; k < d; ++k) {
        double t = x[k] - y[k];
        acc += t * t;
    }
    return acc;
}

/// ‖x‖² + ‖y‖² − 2 x·y, the expanded form (cancels when the clouds are far from the origin: centre first).
OTN_HD double sq_dist_expanded(double xx, double yy, double xy) { return xx + yy - 2.0 * xy; }

/// The Sinkhorn half-step exponent colTerm_j − C_ij/ε, colTerm_j = other_j/ε + log w_j.
OTN_HD double softmin_exponent(double col_term, double cost, double inv_eps) { return col_term - cost * inv_eps; }

/// One entry of the plan, exp(rowTerm_i + colTerm_j − C_ij/ε) (rowTerm_i = f_i/ε + log a_i).
OTN_HD double plan_entry(double row_term, double col_term, double cost, double inv_eps) {
    return exp(row_term + col_term - cost * inv_eps);
}

/// a · b over d coordinates.
OTN_HD double dot(const double* a, const double* b, int d) {
    double acc = 0.0;
    for (int k = 0; k < d; ++k) acc += a[k] * b[k];
    return acc;
}

/// x − y into out: the pair's difference, ∇c/2 for the squared Euclidean cost. Formed per pair, never from moments
/// of x and y, so that it keeps its digits wherever the clouds sit (docs/math.md §3).
OTN_HD void pair_difference(const double* x, const double* y, int d, double* out) {
    for (int k = 0; k < d; ++k) out[k] = x[k] - y[k];
}

/// One pair's share of the weighted contraction: acc[0] += p w and acc[1 + q] += p w (x − y)_q. Summed over the
/// columns it gives, with w = 1, the row mass r_i and half the gradient G_i; with w = z, (P z)_i and half of
/// Σ_j P_ij z_j ∇c_ij — the HVP's contraction.
OTN_HD void contract_push(double* acc, double p, double w, const double* diff, int d) {
    const double pw = p * w;
    acc[0] += pw;
    for (int q = 0; q < d; ++q) acc[1 + q] += pw * diff[q];
}

/// One pair's share of Σ_j P_ij (x_i − y_j)((x_i − y_j) · a): acc[q] += p (diff · a) diff_q. A quarter of the HVP's
/// outer term Σ_j P_ij ∇c (∇c · A_i); with a = e_b, column b of the block diagonal's Σ_j P_ij diff diffᵀ.
OTN_HD void outer_push(double* acc, double p, const double* diff, const double* a, int d) {
    const double t = p * dot(diff, a, d);
    for (int q = 0; q < d; ++q) acc[q] += t * diff[q];
}

/// One entry of the Hessian's R_g block times `scale`: scale · p · (∇c_q − G_q/r), ∇c_q = 2 diff_q formed before
/// G/r is subtracted (both of the spread's size).
OTN_HD double r_block_entry(double p, double diff_q, double g_over_r_q, double scale) {
    return scale * p * (2.0 * diff_q - g_over_r_q);
}

}  // namespace otn
