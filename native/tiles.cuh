// The tiling every streamed kernel shares: a block's threads each own one row point and stream the opposite cloud
// (its points, column terms and up to OTN_MAX_COLUMNS values per point) through shared memory a tile at a time.
#pragma once
#include "otnative_math.h"

#define OTN_TILE 128
#define OTN_MAX_DIM 8
#define OTN_MAX_COLUMNS 16
#define OTN_MAX_ACC 32

// Column points [t0, t0 + count) of `cols`, their terms and `width` values each of `v` (none when width is 0) into
// the block's shared tiles. Every thread of the block must call it (it only loads; the caller synchronises).
__device__ __forceinline__ void otn_load_tile(const double* __restrict__ cols, const double* __restrict__ col_term,
                                              const double* __restrict__ v, int width, int t0, int count, int d,
                                              double* tile_pts, double* tile_term, double* tile_v) {
    for (int u = threadIdx.x; u < count; u += blockDim.x) {
        tile_term[u] = col_term[t0 + u];
        for (int k = 0; k < d; ++k) tile_pts[u * d + k] = cols[(t0 + u) * d + k];
        for (int q = 0; q < width; ++q) tile_v[u * width + q] = v[(t0 + u) * width + q];
    }
}

// result_i = −ε LSE_{j ∈ [col_begin, col_end)}(colTerm_j − ‖x_i − y_j‖²/ε) for this thread's row i (active when
// i < row_end). Shared by the single-problem and the batched half-step, so both compute the same.
__device__ __forceinline__ void otn_softmin_row(const double* __restrict__ rows, const double* __restrict__ cols,
                                                const double* __restrict__ col_term, int i, int row_end,
                                                int col_begin, int col_end, int d, double eps,
                                                double* __restrict__ result) {
    __shared__ double tile_pts[OTN_TILE * OTN_MAX_DIM];
    __shared__ double tile_term[OTN_TILE];
    const double inv_eps = 1.0 / eps;
    const bool active = i < row_end;
    double xi[OTN_MAX_DIM];
    for (int k = 0; k < d; ++k) xi[k] = active ? rows[i * d + k] : 0.0;
    otn::LseState s = otn::lse_empty();
    for (int t0 = col_begin; t0 < col_end; t0 += OTN_TILE) {
        const int count = min(OTN_TILE, col_end - t0);
        otn_load_tile(cols, col_term, nullptr, 0, t0, count, d, tile_pts, tile_term, nullptr);
        __syncthreads();
        if (active)
            for (int u = 0; u < count; ++u)
                otn::lse_push(s, otn::softmin_exponent(tile_term[u], otn::sq_dist(xi, &tile_pts[u * d], d), inv_eps));
        __syncthreads();
    }
    if (active) result[i] = -eps * otn::lse_value(s);
}

// Calls visit(p_ij, x_i − y_j, the tile's `width` values of column j) for every column j of this thread's row i
// (active when i < n_rows), p_ij = exp(rowTerm_i + colTerm_j − ‖x_i − y_j‖²/ε). The difference is formed per pair,
// so what the visitor accumulates keeps its digits wherever the clouds sit.
template <typename Visit>
__device__ __forceinline__ void otn_stream_pairs(const double* __restrict__ rows, const double* __restrict__ cols,
                                                 const double* __restrict__ row_term, const double* __restrict__ col_term,
                                                 const double* __restrict__ v, int width, int i, int n_rows, int n_cols,
                                                 int d, double eps, Visit visit) {
    __shared__ double tile_pts[OTN_TILE * OTN_MAX_DIM];
    __shared__ double tile_term[OTN_TILE];
    __shared__ double tile_v[OTN_TILE * OTN_MAX_COLUMNS];
    const double inv_eps = 1.0 / eps;
    const bool active = i < n_rows;
    double xi[OTN_MAX_DIM], diff[OTN_MAX_DIM];
    for (int k = 0; k < d; ++k) xi[k] = active ? rows[i * d + k] : 0.0;
    const double rt = active ? row_term[i] : 0.0;
    for (int t0 = 0; t0 < n_cols; t0 += OTN_TILE) {
        const int count = min(OTN_TILE, n_cols - t0);
        otn_load_tile(cols, col_term, v, width, t0, count, d, tile_pts, tile_term, tile_v);
        __syncthreads();
        if (active)
            for (int u = 0; u < count; ++u) {
                otn::pair_difference(xi, &tile_pts[u * d], d, diff);
                visit(otn::plan_entry(rt, tile_term[u], otn::dot(diff, diff, d), inv_eps), diff, &tile_v[u * width]);
            }
        __syncthreads();
    }
}

// Row i's sums over its pairs: visit(acc, p_ij, x_i − y_j, the column's `v_width` values) accumulates into `width`
// (≤ OTN_MAX_ACC) running sums, written to out[i, 0 … width) at the end. One thread per row.
template <typename Visit>
__device__ __forceinline__ void otn_row_sums(const double* __restrict__ rows, const double* __restrict__ cols,
                                             const double* __restrict__ row_term, const double* __restrict__ col_term,
                                             const double* __restrict__ v, int v_width, int n_rows, int n_cols, int d,
                                             double eps, int width, double* __restrict__ out, Visit visit) {
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    double acc[OTN_MAX_ACC];
    for (int t = 0; t < width; ++t) acc[t] = 0.0;
    otn_stream_pairs(rows, cols, row_term, col_term, v, v_width, i, n_rows, n_cols, d, eps,
                     [&](double p, const double* diff, const double* vj) { visit(acc, p, diff, vj); });
    if (i < n_rows)
        for (int t = 0; t < width; ++t) out[i * width + t] = acc[t];
}
