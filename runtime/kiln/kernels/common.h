// Kiln runtime: shared definitions for all kernels (index type, activation
// epilogues). Header-only C++17; no heap, no exceptions, no global state.
#pragma once

#include <cmath>
#include <cstddef>

namespace kiln_rt {

/// Kernels take their shapes in a parameter struct of 4-byte int and float
/// fields only (generated code initialises it as a constant; the layout is
/// checked by static_asserts beside each struct).

/// Index type for element offsets (tensors have at most 2^31 - 1 elements).
using index_t = std::ptrdiff_t;

/// Activation applied to each output element as it is produced.
enum : int {
  ACT_NONE = 0,
  ACT_RELU = 1,
  ACT_RELU6 = 2,
  ACT_LEAKY_RELU = 3, ///< a = negative slope
  ACT_HARDTANH = 4,   ///< a = min, b = max
  ACT_SIGMOID = 5,
  ACT_TANH = 6,
  ACT_ELU = 7, ///< a = alpha
};

/// An activation and its two scalar arguments.
struct Epilogue {
  int act;
  float a;
  float b;
};

/// Applies the epilogue `e` to `v`.
inline float activate(const Epilogue &e, float v) {
  switch (e.act) {
  case ACT_RELU: // written so that NaN propagates, as in PyTorch
    return v < 0.0f ? 0.0f : v;
  case ACT_RELU6:
    return v < 0.0f ? 0.0f : (v > 6.0f ? 6.0f : v);
  case ACT_LEAKY_RELU:
    return v >= 0.0f ? v : v * e.a;
  case ACT_HARDTANH:
    return v < e.a ? e.a : (v > e.b ? e.b : v);
  case ACT_SIGMOID:
    return 1.0f / (1.0f + std::exp(-v));
  case ACT_TANH:
    return std::tanh(v);
  case ACT_ELU:
    return v > 0.0f ? v : e.a * (std::exp(v) - 1.0f);
  default:
    return v;
  }
}

/// Writes y[i] = activation(acc[i] (+ residual[i])) for `n` values: the
/// store of a fused epilogue, with the activation chosen once per call so
/// that each case is a simple loop. Called with a constant `n` (a full
/// tile), the loops have a fixed trip count that -O2 vectorises.
template <int N = 0>
inline void store_epilogue(const Epilogue &e, const float *acc,
                           const float *residual, float *y, int count = N) {
  const int n = N ? N : count;
  float v[64];
  const float *in = acc;
  if (residual) {
    for (int i = 0; i < n; ++i)
      v[i] = acc[i] + residual[i];
    in = v;
  }
  switch (e.act) {
  case ACT_NONE:
    for (int i = 0; i < n; ++i)
      y[i] = in[i];
    return;
  case ACT_RELU:
    for (int i = 0; i < n; ++i)
      y[i] = in[i] < 0.0f ? 0.0f : in[i];
    return;
  case ACT_RELU6:
    for (int i = 0; i < n; ++i)
      y[i] = in[i] < 0.0f ? 0.0f : (in[i] > 6.0f ? 6.0f : in[i]);
    return;
  case ACT_LEAKY_RELU:
    for (int i = 0; i < n; ++i)
      y[i] = in[i] >= 0.0f ? in[i] : in[i] * e.a;
    return;
  default:
    for (int i = 0; i < n; ++i)
      y[i] = activate(e, in[i]);
  }
}

/// Applies the epilogue `e` to `n` contiguous values in place.
inline void activate_span(const Epilogue &e, float *y, index_t n) {
  switch (e.act) {
  case ACT_NONE:
    return;
  case ACT_RELU:
    for (index_t i = 0; i < n; ++i)
      y[i] = y[i] < 0.0f ? 0.0f : y[i];
    return;
  default:
    for (index_t i = 0; i < n; ++i)
      y[i] = activate(e, y[i]);
  }
}

} // namespace kiln_rt
