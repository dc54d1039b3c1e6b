// Kiln runtime: normalisations along one dim — softmax / log-softmax,
// local response norm (across channels), and BatchNorm with the batch's own
// statistics.
#pragma once

#include "common.h"

namespace kiln_rt {

/// A tensor seen as [outer][dim][inner], normalised along `dim`.
struct SoftmaxParams {
  int outer, dim, inner;
  int log; ///< 1: log_softmax
};
static_assert(sizeof(SoftmaxParams) == 4 * 4,
              "parameter structs hold 4-byte fields only");

/// y = exp(x - max) / sum, or (x - max) - log(sum) for log_softmax.
inline void softmax(const SoftmaxParams &p, const float *x, float *y) {
  for (int o = 0; o < p.outer; ++o)
    for (int i = 0; i < p.inner; ++i) {
      const index_t base = index_t(o) * p.dim * p.inner + i;
      float m = -INFINITY;
      for (int d = 0; d < p.dim; ++d) {
        const float v = x[base + index_t(d) * p.inner];
        m = v > m || v != v ? v : m;
      }
      float s = 0.0f;
      for (int d = 0; d < p.dim; ++d)
        s += fexp(x[base + index_t(d) * p.inner] - m);
      if (p.log) {
        const float ls = flog(s);
        for (int d = 0; d < p.dim; ++d)
          y[base + index_t(d) * p.inner] =
              x[base + index_t(d) * p.inner] - m - ls;
      } else {
        for (int d = 0; d < p.dim; ++d)
          y[base + index_t(d) * p.inner] =
              fexp(x[base + index_t(d) * p.inner] - m) / s;
      }
    }
}

/// Local response norm over channels of [n][channels][inner].
struct LrnParams {
  int n, channels, inner, size;
  float alpha, beta, k;
};
static_assert(sizeof(LrnParams) == 4 * 7,
              "parameter structs hold 4-byte fields only");

/// y = x / (k + alpha * mean of x^2 over the channel window)^beta, the
/// window being c - size/2 .. c + (size-1)/2, zero-padded, always divided
/// by `size` (PyTorch's avg_pool formulation).
inline void local_response_norm(const LrnParams &p, const float *x, float *y) {
  for (int n = 0; n < p.n; ++n)
    for (int c = 0; c < p.channels; ++c) {
      int lo = c - p.size / 2, hi = c + (p.size - 1) / 2;
      if (lo < 0)
        lo = 0;
      if (hi > p.channels - 1)
        hi = p.channels - 1;
      const index_t base = (index_t(n) * p.channels + c) * p.inner;
      for (int i = 0; i < p.inner; ++i) {
        float s = 0.0f;
        for (int cc = lo; cc <= hi; ++cc) {
          const float v = x[(index_t(n) * p.channels + cc) * p.inner + i];
          s += v * v;
        }
        const float div = fpow(p.k + p.alpha * (s / float(p.size)), p.beta);
        y[base + i] = x[base + i] / div;
      }
    }
}

/// BatchNorm with batch statistics over [n][channels][inner]: per channel,
/// mean and biased variance over n and inner.
struct BatchStatsParams {
  int n, channels, inner;
  float eps;
};
static_assert(sizeof(BatchStatsParams) == 4 * 4,
              "parameter structs hold 4-byte fields only");

inline void batch_norm_batch_stats(const BatchStatsParams &p, const float *x,
                                   const float *weight, const float *bias,
                                   float *y) {
  const float count = float(index_t(p.n) * p.inner);
  for (int c = 0; c < p.channels; ++c) {
    float sum = 0.0f;
    for (int n = 0; n < p.n; ++n)
      for (int i = 0; i < p.inner; ++i)
        sum += x[(index_t(n) * p.channels + c) * p.inner + i];
    const float mean = sum / count;
    float sq = 0.0f;
    for (int n = 0; n < p.n; ++n)
      for (int i = 0; i < p.inner; ++i) {
        const float d = x[(index_t(n) * p.channels + c) * p.inner + i] - mean;
        sq += d * d;
      }
    const float invstd = 1.0f / fsqrt(sq / count + p.eps);
    const float scale = weight ? weight[c] * invstd : invstd;
    const float shift = (bias ? bias[c] : 0.0f) - mean * scale;
    for (int n = 0; n < p.n; ++n)
      for (int i = 0; i < p.inner; ++i) {
        const index_t at = (index_t(n) * p.channels + c) * p.inner + i;
        y[at] = x[at] * scale + shift;
      }
  }
}

} // namespace kiln_rt
