// Streamed transport primitives for point clouds in float64: the Sinkhorn half-step (a log-sum-exp over
// the opposite cloud), the transport application (P∘W)V, and the materialised plan. One thread per row
// point; the opposite cloud and its column terms stream through shared memory in tiles, so nothing of
// size n×m is ever stored. Rows and columns swap roles by swapping the arguments (the cost is symmetric).
#include "otnative_math.h"

#define OTN_TILE 128
#define OTN_MAX_DIM 8
#define OTN_MAX_COLUMNS 16

// result_i = −ε LSE_j(colTerm_j − ‖x_i − y_j‖²/ε).
extern "C" __global__ void otn_softmin(const double* __restrict__ rows, const double* __restrict__ cols,
                                       const double* __restrict__ col_term, int n_rows, int n_cols, int d,
                                       double eps, double* __restrict__ result) {
    __shared__ double tile_pts[OTN_TILE * OTN_MAX_DIM];
    __shared__ double tile_term[OTN_TILE];
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    const double inv_eps = 1.0 / eps;
    double xi[OTN_MAX_DIM];
    for (int k = 0; k < d; ++k) xi[k] = i < n_rows ? rows[i * d + k] : 0.0;
    otn::LseState s = otn::lse_empty();
    for (int t0 = 0; t0 < n_cols; t0 += OTN_TILE) {
        const int count = min(OTN_TILE, n_cols - t0);
        for (int u = threadIdx.x; u < count; u += blockDim.x) {
            tile_term[u] = col_term[t0 + u];
            for (int k = 0; k < d; ++k) tile_pts[u * d + k] = cols[(t0 + u) * d + k];
        }
        __syncthreads();
        if (i < n_rows)
            for (int u = 0; u < count; ++u)
                otn::lse_push(s, otn::softmin_exponent(tile_term[u], otn::sq_dist(xi, &tile_pts[u * d], d), inv_eps));
        __syncthreads();
    }
    if (i < n_rows) result[i] = -eps * otn::lse_value(s);
}

// out_i,q = Σ_j exp(rowTerm_i + colTerm_j − C_ij/ε) · (C_ij if weighted) · v_j,q for k ≤ OTN_MAX_COLUMNS columns.
extern "C" __global__ void otn_apply(const double* __restrict__ rows, const double* __restrict__ cols,
                                     const double* __restrict__ row_term, const double* __restrict__ col_term,
                                     const double* __restrict__ v, int n_rows, int n_cols, int d, int k,
                                     double eps, int weighted, double* __restrict__ out) {
    __shared__ double tile_pts[OTN_TILE * OTN_MAX_DIM];
    __shared__ double tile_term[OTN_TILE];
    __shared__ double tile_v[OTN_TILE * OTN_MAX_COLUMNS];
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    const double inv_eps = 1.0 / eps;
    double xi[OTN_MAX_DIM];
    double acc[OTN_MAX_COLUMNS];
    for (int q = 0; q < k; ++q) acc[q] = 0.0;
    for (int c = 0; c < d; ++c) xi[c] = i < n_rows ? rows[i * d + c] : 0.0;
    const double rt = i < n_rows ? row_term[i] : 0.0;
    for (int t0 = 0; t0 < n_cols; t0 += OTN_TILE) {
        const int count = min(OTN_TILE, n_cols - t0);
        for (int u = threadIdx.x; u < count; u += blockDim.x) {
            tile_term[u] = col_term[t0 + u];
            for (int c = 0; c < d; ++c) tile_pts[u * d + c] = cols[(t0 + u) * d + c];
            for (int q = 0; q < k; ++q) tile_v[u * k + q] = v[(t0 + u) * k + q];
        }
        __syncthreads();
        if (i < n_rows)
            for (int u = 0; u < count; ++u) {
                const double cost = otn::sq_dist(xi, &tile_pts[u * d], d);
                double p = otn::plan_entry(rt, tile_term[u], cost, inv_eps);
                if (weighted) p *= cost;
                for (int q = 0; q < k; ++q) acc[q] += p * tile_v[u * k + q];
            }
        __syncthreads();
    }
    if (i < n_rows)
        for (int q = 0; q < k; ++q) out[i * k + q] = acc[q];
}

// P_ij = exp(rowTerm_i + colTerm_j − C_ij/ε), row-major n_rows × n_cols; one thread per entry.
extern "C" __global__ void otn_plan(const double* __restrict__ rows, const double* __restrict__ cols,
                                    const double* __restrict__ row_term, const double* __restrict__ col_term,
                                    int n_rows, int n_cols, int d, double eps, double* __restrict__ out) {
    const long long idx = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (idx >= (long long)n_rows * n_cols) return;
    const int i = (int)(idx / n_cols), j = (int)(idx % n_cols);
    out[idx] = otn::plan_entry(row_term[i], col_term[j], otn::sq_dist(&rows[i * d], &cols[j * d], d), 1.0 / eps);
}
