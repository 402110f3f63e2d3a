// Streamed transport primitives for point clouds in float64: the Sinkhorn half-step (a log-sum-exp over
// the opposite cloud), the transport application (P∘W)V, and the materialised plan. One thread per row
// point; the opposite cloud and its column terms stream through shared memory in tiles, so nothing of
// size n×m is ever stored. Rows and columns swap roles by swapping the arguments (the cost is symmetric).
// This is the one translation unit of the kernels' module: the derivative contractions and the batched
// half-step are in the headers it includes at the end.
#include "otnative_math.h"
#include "tiles.cuh"

// result_i = −ε LSE_j(colTerm_j − ‖x_i − y_j‖²/ε).
extern "C" __global__ void otn_softmin(const double* __restrict__ rows, const double* __restrict__ cols,
                                       const double* __restrict__ col_term, int n_rows, int n_cols, int d,
                                       double eps, double* __restrict__ result) {
    otn_softmin_row(rows, cols, col_term, blockIdx.x * blockDim.x + threadIdx.x, n_rows, 0, n_cols, d, eps, result);
}

// out_i,q = Σ_j exp(rowTerm_i + colTerm_j − C_ij/ε) · (C_ij if weighted) · v_j,q for k ≤ OTN_MAX_COLUMNS columns.
extern "C" __global__ void otn_apply(const double* __restrict__ rows, const double* __restrict__ cols,
                                     const double* __restrict__ row_term, const double* __restrict__ col_term,
                                     const double* __restrict__ v, int n_rows, int n_cols, int d, int k,
                                     double eps, int weighted, double* __restrict__ out) {
    otn_row_sums(rows, cols, row_term, col_term, v, k, n_rows, n_cols, d, eps, k, out,
                 [&](double* acc, double p, const double* diff, const double* vj) {
                     const double wp = weighted ? p * otn::dot(diff, diff, d) : p;
                     for (int q = 0; q < k; ++q) acc[q] += wp * vj[q];
                 });
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

#include "derivatives.cuh"
#include "batched.cuh"
