// Kiln runtime: elementwise activations and per-channel elementwise layers
// (PReLU, inference BatchNorm).
#pragma once

#include "common.h"

namespace kiln_rt {

/// `count` contiguous elements.
struct UnaryParams {
  int count;
  Epilogue ep;
};
static_assert(sizeof(UnaryParams) == 4 * 4,
              "parameter structs hold 4-byte fields only");

/// y[i] = activation(x[i]); x and y may be the same buffer (vectorised
/// for the activations activate_into() covers).
inline void unary(const UnaryParams &p, const float *x, float *y) {
  activate_into(p.ep, x, y, p.count);
}

/// A tensor seen as [outer][channels][inner] (channels = dim 1).
struct ChannelParams {
  int outer, channels;
  int inner;
  int per_channel; ///< 0: one parameter shared by all channels
  float eps;       ///< BatchNorm only
};
static_assert(sizeof(ChannelParams) == 4 * 5,
              "parameter structs hold 4-byte fields only");

/// PReLU: y = x >= 0 ? x : w[c] * x.
inline void prelu(const ChannelParams &p, const float *x, const float *w,
                  float *y) {
  for (int o = 0; o < p.outer; ++o)
    for (int c = 0; c < p.channels; ++c) {
      const float a = w[p.per_channel ? c : 0];
      const index_t base = (index_t(o) * p.channels + c) * p.inner;
      for (index_t i = 0; i < p.inner; ++i) {
        const float v = x[base + i];
        y[base + i] = v >= 0.0f ? v : a * v;
      }
    }
}

/// Inference BatchNorm with running statistics, computed as PyTorch's CPU
/// kernel does: scale = weight / sqrt(var + eps), shift = bias - mean *
/// scale, y = x * scale + shift. `weight` and `bias` may be null (affine off).
inline void batch_norm(const ChannelParams &p, const float *x,
                       const float *mean, const float *var, const float *weight,
                       const float *bias, float *y) {
  for (int c = 0; c < p.channels; ++c) {
    const float invstd = 1.0f / fsqrt(var[c] + p.eps);
    const float scale = weight ? weight[c] * invstd : invstd;
    const float shift = (bias ? bias[c] : 0.0f) - mean[c] * scale;
    for (int o = 0; o < p.outer; ++o) {
      const index_t base = (index_t(o) * p.channels + c) * p.inner;
      for (index_t i = 0; i < p.inner; ++i)
        y[base + i] = x[base + i] * scale + shift;
    }
  }
}

} // namespace kiln_rt

namespace kiln_rt {

/// Copies `n` floats (an output that is an input, a weight or another
/// output).
inline void copy(index_t n, const float *x, float *y) {
  for (index_t i = 0; i < n; ++i)
    y[i] = x[i];
}

} // namespace kiln_rt
