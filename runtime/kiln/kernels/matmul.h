// Kiln runtime: batched matrix product (torch.matmul) with broadcasting of
// the leading (batch) dims.
#pragma once

#include "common.h"

namespace kiln_rt {

/// The result is [batch..., m, n] (contiguous), from a [.., m, k] and
/// b [.., k, n]. Batch dims are right-aligned into four slots (unused
/// leading slots: size 1); `sa` / `sb` are each operand's element stride per
/// batch dim, 0 where it is broadcast.
struct MatmulParams {
  int batch[4];
  int sa[4], sb[4];
  int m, k, n;
};
static_assert(sizeof(MatmulParams) == 4 * 15,
              "parameter structs hold 4-byte fields only");

/// One [m, k] x [k, n] product. For n > 1 the loops run i, kk, j: the
/// innermost loop reads a row of b and updates a row of y, both contiguous
/// (each y element still sums its k terms in order). For n == 1 (a
/// matrix-vector product) each y element is a contiguous dot product with
/// eight partial sums, as linear computes it.
inline void matmul_one(int m, int k, int n, const float *a, const float *b,
                       float *y) {
  if (n == 1) {
    for (int i = 0; i < m; ++i) {
      const float *ar = a + index_t(i) * k;
      float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
      int kk = 0;
      for (; kk + 8 <= k; kk += 8)
        for (int j = 0; j < 8; ++j)
          acc[j] += ar[kk + j] * b[kk + j];
      float s = ((acc[0] + acc[1]) + (acc[2] + acc[3])) +
                ((acc[4] + acc[5]) + (acc[6] + acc[7]));
      for (; kk < k; ++kk)
        s += ar[kk] * b[kk];
      y[i] = s;
    }
    return;
  }
  for (int i = 0; i < m; ++i) {
    float *yr = y + index_t(i) * n;
    const float *ar = a + index_t(i) * k;
    for (int j = 0; j < n; ++j)
      yr[j] = 0.0f;
    for (int kk = 0; kk < k; ++kk) {
      const float av = ar[kk];
      const float *br = b + index_t(kk) * n;
      for (int j = 0; j < n; ++j)
        yr[j] += av * br[j];
    }
  }
}

/// y = a @ b over every batch index.
inline void matmul(const MatmulParams &p, const float *a, const float *b,
                   float *y) {
  const index_t plane = index_t(p.m) * p.n;
  index_t o = 0;
  for (int d0 = 0; d0 < p.batch[0]; ++d0)
    for (int d1 = 0; d1 < p.batch[1]; ++d1)
      for (int d2 = 0; d2 < p.batch[2]; ++d2)
        for (int d3 = 0; d3 < p.batch[3]; ++d3) {
          const float *ab = a + index_t(d0) * p.sa[0] + index_t(d1) * p.sa[1] +
                            index_t(d2) * p.sa[2] + index_t(d3) * p.sa[3];
          const float *bb = b + index_t(d0) * p.sb[0] + index_t(d1) * p.sb[1] +
                            index_t(d2) * p.sb[2] + index_t(d3) * p.sb[3];
          matmul_one(p.m, p.k, p.n, ab, bb, y + o);
          o += plane;
        }
}

} // namespace kiln_rt
