// The derivatives' streamed contractions (docs/math.md §3), each a per-pair sum over the opposite cloud with the
// difference x_i − y_j formed per pair (no moments of the coordinates: they cancel far from the origin), and the
// dense Hessian's R_g block. Included by transport.cu. Rows and columns swap roles by swapping the arguments.
#pragma once
#include "tiles.cuh"

// out[i, c(d+1)] = Σ_j P_ij w_jc and out[i, c(d+1) + 1 + q] = Σ_j P_ij w_jc (x_i − y_j)_q for the k columns of w
// (n_cols × k, k ≤ OTN_MAX_COLUMNS, k(d + 1) ≤ OTN_MAX_ACC). With w = 1: the row mass and half the gradient; with
// w = z_g: the HVP's (P z)_i and half of Σ_j P_ij z_j ∇c_ij.
extern "C" __global__ void otn_pair_contract(const double* __restrict__ rows, const double* __restrict__ cols,
                                             const double* __restrict__ row_term, const double* __restrict__ col_term,
                                             const double* __restrict__ w, int n_rows, int n_cols, int d, int k,
                                             double eps, double* __restrict__ out) {
    otn_row_sums(rows, cols, row_term, col_term, w, k, n_rows, n_cols, d, eps, k * (d + 1), out,
                 [&](double* acc, double p, const double* diff, const double* wj) {
                     for (int c = 0; c < k; ++c) otn::contract_push(&acc[c * (d + 1)], p, wj[c], diff, d);
                 });
}

// out[i, c] = Σ_j P_ij (x_i − y_j) · v_j,c for the k directions v_j,c = v[j, c·d … c·d + d) of the column points
// (k·d ≤ OTN_MAX_COLUMNS). From the column side (rows = y, cols = x, v = A) it gives −½ of the HVP's right-hand
// side r_g[j] = Σ_k P_kj ∇c_kj · A_k.
extern "C" __global__ void otn_pair_dot(const double* __restrict__ rows, const double* __restrict__ cols,
                                        const double* __restrict__ row_term, const double* __restrict__ col_term,
                                        const double* __restrict__ v, int n_rows, int n_cols, int d, int k,
                                        double eps, double* __restrict__ out) {
    otn_row_sums(rows, cols, row_term, col_term, v, k * d, n_rows, n_cols, d, eps, k, out,
                 [&](double* acc, double p, const double* diff, const double* vj) {
                     for (int c = 0; c < k; ++c) acc[c] += p * otn::dot(diff, &vj[c * d], d);
                 });
}

// out[i, c·d + q] = Σ_j P_ij (x_i − y_j)_q ((x_i − y_j) · a_i,c) for the row's own k directions a_i,c =
// a[i, c·d … c·d + d) (k·d ≤ OTN_MAX_ACC): a quarter of the HVP's outer term Σ_j P_ij ∇c (∇c · A_i) and, with the
// d unit directions, the block diagonal's Σ_j P_ij (x_i − y_j)(x_i − y_j)ᵀ.
extern "C" __global__ void otn_pair_outer(const double* __restrict__ rows, const double* __restrict__ cols,
                                          const double* __restrict__ row_term, const double* __restrict__ col_term,
                                          const double* __restrict__ a, int n_rows, int n_cols, int d, int k,
                                          double eps, double* __restrict__ out) {
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    const int width = k * d;
    double own[OTN_MAX_ACC], acc[OTN_MAX_ACC];
    for (int t = 0; t < width; ++t) {
        own[t] = i < n_rows ? a[i * width + t] : 0.0;
        acc[t] = 0.0;
    }
    otn_stream_pairs(rows, cols, row_term, col_term, nullptr, 0, i, n_rows, n_cols, d, eps,
                     [&](double p, const double* diff, const double*) {
                         for (int c = 0; c < k; ++c) otn::outer_push(&acc[c * d], p, diff, &own[c * d], d);
                     });
    if (i < n_rows)
        for (int t = 0; t < width; ++t) out[i * width + t] = acc[t];
}

// The Hessian's R_g block times `scale`, m × (n·d) row-major: out[j, i·d + q] = scale · P_ij (2 (x_i − y_j)_q −
// g_over_r[i·d + q]) (g_over_r all zero for the Algorithm 1 right-hand side). One thread per pair, i fastest, so a
// warp writes consecutive entries.
extern "C" __global__ void otn_r_tensor(const double* __restrict__ x, const double* __restrict__ y,
                                        const double* __restrict__ row_term, const double* __restrict__ col_term,
                                        const double* __restrict__ g_over_r, int n, int m, int d, double eps,
                                        double scale, double* __restrict__ out) {
    const long long idx = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (idx >= (long long)n * m) return;
    const int j = (int)(idx / n), i = (int)(idx % n);
    double diff[OTN_MAX_DIM];
    otn::pair_difference(&x[i * d], &y[j * d], d, diff);
    const double p = otn::plan_entry(row_term[i], col_term[j], otn::dot(diff, diff, d), 1.0 / eps);
    double* row = &out[(long long)j * n * d + (long long)i * d];
    for (int q = 0; q < d; ++q) row[q] = otn::r_block_entry(p, diff[q], g_over_r[i * d + q], scale);
}
