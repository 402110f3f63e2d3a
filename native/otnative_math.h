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

/// The HVP's per-pair contraction (SPEC §3): with ∇c = 2(x_k − y_j), P_kj (z_g[j] ∇c_q − ∇c_q (∇c · A_k)/ε·ε)
/// split into its two terms: P_kj z_j ∇c_q and P_kj ∇c_q (∇c · A_k).
OTN_HD double grad_cost(const double* x, const double* y, int q) { return 2.0 * (x[q] - y[q]); }

OTN_HD double grad_cost_dot(const double* x, const double* y, const double* a, int d) {
    double acc = 0.0;
    for (int k = 0; k < d; ++k) acc += 2.0 * (x[k] - y[k]) * a[k];
    return acc;
}

}  // namespace otn
