// Kiln runtime: LayerNorm and GroupNorm, both a normalisation of contiguous
// rows (each row gets its own mean and biased variance) followed by an
// optional per-element or per-channel affine map.
#pragma once

#include "common.h"

namespace kiln_rt {

/// `rows` rows of `cols` contiguous elements, each normalised on its own.
/// The affine entry of element `col` of row `r` is
/// (r % groups) * (cols / inner) + col / inner:
///   LayerNorm: groups 1, inner 1 (one weight per normalised element);
///   GroupNorm: a row is one group of one sample, groups = num_groups,
///              inner = the spatial size (one weight per channel).
struct RowNormParams {
  int rows, cols, groups, inner;
  float eps;
};
static_assert(sizeof(RowNormParams) == 4 * 5,
              "parameter structs hold 4-byte fields only");

/// Sum of `n` floats in eight interleaved partial sums, added pairwise at
/// the end: the partial sums vectorise without reassociation flags, and
/// each accumulates n/8 terms, which also divides the worst-case rounding
/// error of one long running sum by about 8.
inline float row_sum(const float *x, int n) {
  float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int i = 0;
  for (; i + 8 <= n; i += 8)
    for (int k = 0; k < 8; ++k)
      acc[k] += x[i + k];
  for (int k = 0; i < n; ++i, ++k)
    acc[k] += x[i];
  return ((acc[0] + acc[1]) + (acc[2] + acc[3])) +
         ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

/// Sum of (x[i] - mean)^2, in the same eight partial sums.
inline float row_sq_dev(const float *x, int n, float mean) {
  float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int i = 0;
  for (; i + 8 <= n; i += 8)
    for (int k = 0; k < 8; ++k) {
      const float d = x[i + k] - mean;
      acc[k] += d * d;
    }
  for (int k = 0; i < n; ++i, ++k) {
    const float d = x[i] - mean;
    acc[k] += d * d;
  }
  return ((acc[0] + acc[1]) + (acc[2] + acc[3])) +
         ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

/// y = (x - mean) / sqrt(var + eps) * weight + bias per row, with mean and
/// biased variance computed in two passes in float32: first the mean, then
/// the sum of squared deviations from it. Unlike E[x^2] - E[x]^2, the
/// second pass does not cancel catastrophically when |mean| >> std (a
/// LayerNorm after a residual stream, GroupNorm after a biased conv), and
/// the result is never negative. PyTorch computes the same moments with a
/// float32 Welford recurrence; both are accurate to a few ulp times the
/// row length's square root in practice. `weight` and `bias` may be null.
inline void row_norm(const RowNormParams &p, const float *x,
                     const float *weight, const float *bias, float *y) {
  const int entries = p.cols / p.inner;
  for (int r = 0; r < p.rows; ++r) {
    const float *xr = x + index_t(r) * p.cols;
    float *yr = y + index_t(r) * p.cols;
    const float mean = row_sum(xr, p.cols) / float(p.cols);
    const float var = row_sq_dev(xr, p.cols, mean) / float(p.cols);
    const float rstd = 1.0f / fsqrt(var + p.eps);
    const int first = (r % p.groups) * entries;
    for (int e = 0; e < entries; ++e) {
      const float scale = weight ? weight[first + e] * rstd : rstd;
      const float shift = bias ? bias[first + e] : 0.0f;
      const float *xe = xr + index_t(e) * p.inner;
      float *ye = yr + index_t(e) * p.inner;
      for (int i = 0; i < p.inner; ++i)
        ye[i] = (xe[i] - mean) * scale + shift;
    }
  }
}

} // namespace kiln_rt
