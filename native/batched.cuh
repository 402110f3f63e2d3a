// One launch per half-step for a batch of small problems sharing the dimension d (a launch per problem leaves most
// of the GPU idle at n ≈ 100). Included by transport.cu.
#pragma once
#include "tiles.cuh"

// Block b works on problem p = block_problem[b]: its rows block_row[b] … block_row[b] + blockDim of the concatenated
// row points (those before row_start[p + 1]) against that problem's columns col_start[p] … col_start[p + 1], at the
// problem's own ε. The host's layout (CudaBatchLayout) never lets a block straddle two problems; col_term and result
// are concatenated like the points.
extern "C" __global__ void otn_softmin_batched(const double* __restrict__ rows, const double* __restrict__ cols,
                                               const double* __restrict__ col_term, const int* __restrict__ row_start,
                                               const int* __restrict__ col_start, const int* __restrict__ block_problem,
                                               const int* __restrict__ block_row, const double* __restrict__ eps, int d,
                                               double* __restrict__ result) {
    const int p = block_problem[blockIdx.x];
    otn_softmin_row(rows, cols, col_term, block_row[blockIdx.x] + threadIdx.x, row_start[p + 1], col_start[p],
                    col_start[p + 1], d, eps[p], result);
}
