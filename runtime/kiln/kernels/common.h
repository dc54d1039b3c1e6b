// Kiln runtime: shared definitions for all kernels (index type, activation
// epilogues). Header-only C++17; no heap, no exceptions, no global state.
// With KILN_FREESTANDING defined the kernels need no C++ library: only the
// compiler's own <stddef.h> and <stdint.h>, and the libm functions behind
// __builtin_expf and the like (the LLVM backend's bitcode is built so).
#pragma once

#include <stddef.h>
#ifndef KILN_FREESTANDING
#include <cmath>
#elif !defined(INFINITY)
#define INFINITY (__builtin_inff()) // as <math.h> defines it
#endif

namespace kiln_rt {

/// The float math the kernels use (the same libm functions in both modes).
#ifdef KILN_FREESTANDING
inline float fexp(float x) { return __builtin_expf(x); }
inline float flog(float x) { return __builtin_logf(x); }
inline float fsqrt(float x) { return __builtin_sqrtf(x); }
inline float ftanh(float x) { return __builtin_tanhf(x); }
inline float fpow(float x, float y) { return __builtin_powf(x, y); }
inline float ferf(float x) { return __builtin_erff(x); }
inline float flog1p(float x) { return __builtin_log1pf(x); }
#else
inline float fexp(float x) { return std::exp(x); }
inline float flog(float x) { return std::log(x); }
inline float fsqrt(float x) { return std::sqrt(x); }
inline float ftanh(float x) { return std::tanh(x); }
inline float fpow(float x, float y) { return std::pow(x, y); }
inline float ferf(float x) { return std::erf(x); }
inline float flog1p(float x) { return std::log1p(x); }
#endif

/// Kernels take their shapes in a parameter struct of 4-byte int and float
/// fields only (generated code initialises it as a constant; the layout is
/// checked by static_asserts beside each struct).

/// Index type for element offsets (tensors have at most 2^31 - 1 elements).
using index_t = ::ptrdiff_t;

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
  ACT_SILU = 8,
  ACT_HARDSWISH = 9,
  ACT_HARDSIGMOID = 10,
  ACT_GELU = 11,      ///< exact (erf)
  ACT_GELU_TANH = 12, ///< tanh approximation
  ACT_SOFTPLUS = 13,  ///< a = beta, b = threshold
};

/// An activation and its two scalar arguments.
struct Epilogue {
  int act;
  float a;
  float b;
};

/// ReLU without a branch (a data-dependent branch per element costs more
/// than the ReLU): clears negative values by their sign bit, keeps NaN.
inline float relu(float v) {
  unsigned int b;
  __builtin_memcpy(&b, &v, 4);
  const unsigned int negative = 0u - (b >> 31);
  const unsigned int nan = 0u - (unsigned int)((b & 0x7fffffffu) > 0x7f800000u);
  b &= ~negative | nan;
  __builtin_memcpy(&v, &b, 4);
  return v;
}

/// Four floats handled together: a GCC/Clang vector, one SIMD register on
/// targets that have them (SSE, NEON), four scalar registers elsewhere. Its
/// arithmetic is lane-wise IEEE float arithmetic, the same results as the
/// four scalar operations; loads and stores need no alignment.
typedef float f32x4 __attribute__((vector_size(16)));

inline f32x4 load4(const float *p) {
  f32x4 v;
  __builtin_memcpy(&v, p, sizeof v);
  return v;
}
inline f32x4 splat4(float s) { return f32x4{s, s, s, s}; }

/// Whether f32x4 is a SIMD register on the target. Without SIMD (a
/// Cortex-M's scalar FPU) the kernels keep to narrow tiles: wider ones would
/// add code without saving work.
#if defined(__SSE2__) || defined(__ARM_NEON) || defined(__wasm_simd128__) ||   \
    defined(__ALTIVEC__)
constexpr bool kSimd = true;
#else
constexpr bool kSimd = false;
#endif

/// Applies the epilogue `e` to `v`.
inline float activate(const Epilogue &e, float v) {
  switch (e.act) {
  case ACT_RELU: // NaN propagates, as in PyTorch
    return relu(v);
  case ACT_RELU6:
    return v < 0.0f ? 0.0f : (v > 6.0f ? 6.0f : v);
  case ACT_LEAKY_RELU:
    return v >= 0.0f ? v : v * e.a;
  case ACT_HARDTANH:
    return v < e.a ? e.a : (v > e.b ? e.b : v);
  case ACT_SIGMOID:
    return 1.0f / (1.0f + fexp(-v));
  case ACT_TANH:
    return ftanh(v);
  case ACT_ELU:
    return v > 0.0f ? v : e.a * (fexp(v) - 1.0f);
  case ACT_SILU:
    return v / (1.0f + fexp(-v));
  case ACT_HARDSWISH: {
    const float r = v + 3.0f;
    return v * (r < 0.0f ? 0.0f : (r > 6.0f ? 6.0f : r)) / 6.0f;
  }
  case ACT_HARDSIGMOID: {
    const float r = v + 3.0f;
    return (r < 0.0f ? 0.0f : (r > 6.0f ? 6.0f : r)) / 6.0f;
  }
  case ACT_GELU:
    return 0.5f * v * (1.0f + ferf(v * 0.70710678118654752f));
  case ACT_GELU_TANH:
    return 0.5f * v *
           (1.0f + ftanh(0.79788456080286536f * (v + 0.044715f * v * v * v)));
  case ACT_SOFTPLUS:
    return v * e.a > e.b ? v : flog1p(fexp(v * e.a)) / e.a;
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
      y[i] = relu(in[i]);
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
      y[i] = relu(y[i]);
    return;
  default:
    for (index_t i = 0; i < n; ++i)
      y[i] = activate(e, y[i]);
  }
}

} // namespace kiln_rt
