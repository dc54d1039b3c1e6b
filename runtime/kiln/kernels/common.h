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

/// A kernel call of the C++ backend's generated code, specialised for its
/// call site when optimising for speed: the call and every call inside it
/// inlined (GCC's `flatten`, recursive), so that the kernel's constant
/// parameter struct folds into its loops (kernel sizes, strides, divisions
/// by constants), as the LLVM backend's specialisation does; one copy of the
/// kernels per call site. Clang accepts the attribute but inlines only the
/// direct call (the measured gains are g++'s). At -O0 and at -Os / -Oz
/// (firmware: one copy of each kernel in flash), a plain call; -O2 / -O3
/// firmware gets a copy per call. Defining it before (e.g.
/// -D'KILN_SPECIALISE(call)=call') keeps generic kernels.
#ifdef KILN_SPECIALISE
#elif defined(__GNUC__) && defined(__OPTIMIZE__) && !defined(__OPTIMIZE_SIZE__)
#define KILN_SPECIALISE(call)                                                  \
  [&]() __attribute__((flatten)) { call; }                                     \
  ()
#else
#define KILN_SPECIALISE(call) call
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

} // namespace kiln_rt

// The vectorised activations need the ISA's Vec (ukernels/isa.h), whose
// portable form includes this header for f32x4 and relu() above: included
// here, after them. When isa.h comes first (the portable Vec then includes
// this header before defining Vec), Vec is only declared here; the
// templates below need it complete only where they are instantiated.
#include "../ukernels/isa.h"

namespace kiln_rt {
namespace uk {
inline namespace KILN_UK_NS {
struct Vec;
} // namespace KILN_UK_NS
} // namespace uk

/// e^x lane-wise, to about 1 ulp (Cephes' expf: x = n ln2 + r, |r| <=
/// ln2 / 2, e^r by a degree-7 polynomial, times 2^n): +inf above 88.72, 0
/// below -103.97 (subnormal results between), NaN kept. Plain IEEE
/// arithmetic, no libm (the scalar Vec is the Cortex-M path).
template <class VT> inline typename VT::V vexp(typename VT::V x) {
  typedef typename VT::V V;
  // Clamped where e^x is already inf or 0 (min / max keep a NaN x).
  x = VT::max(VT::splat(-104.0f), VT::min(VT::splat(89.0f), x));
  // n = round(x / ln2), by the 1.5 * 2^23 shifter (|x / ln2| < 2^22).
  const V shifter = VT::splat(12582912.0f);
  const V n = VT::sub(
      VT::add(VT::mul(x, VT::splat(1.44269504088896341f)), shifter), shifter);
  // r = x - n ln2 in two steps (Cody-Waite; n * 0.693359375 is exact).
  V r = VT::sub(x, VT::mul(n, VT::splat(0.693359375f)));
  r = VT::sub(r, VT::mul(n, VT::splat(-2.12194440e-4f)));
  V q = VT::splat(1.9875691500e-4f);
  q = VT::fma(q, r, VT::splat(1.3981999507e-3f));
  q = VT::fma(q, r, VT::splat(8.3334519073e-3f));
  q = VT::fma(q, r, VT::splat(4.1665795894e-2f));
  q = VT::fma(q, r, VT::splat(1.6666665459e-1f));
  q = VT::fma(q, r, VT::splat(5.0000001201e-1f));
  const V e = VT::add(VT::fma(VT::mul(q, r), r, r), VT::splat(1.0f));
  // A NaN x has made n NaN: 2^128 then (the result stays NaN).
  return VT::ldexp(e, VT::min(n, VT::splat(128.0f)));
}

/// 1 / (1 + e^-x) lane-wise (as activate()'s ACT_SIGMOID, with vexp).
template <class VT> inline typename VT::V vsigmoid(typename VT::V x) {
  const typename VT::V one = VT::splat(1.0f);
  return VT::div(one, VT::add(one, vexp<VT>(VT::sub(VT::zero(), x))));
}

/// x / (1 + e^-x) lane-wise (as activate()'s ACT_SILU, with vexp).
template <class VT> inline typename VT::V vsilu(typename VT::V x) {
  const typename VT::V one = VT::splat(1.0f);
  return VT::div(x, VT::add(one, vexp<VT>(VT::sub(VT::zero(), x))));
}

/// min(max(v + 3, 0), 6) lane-wise, NaN kept.
template <class VT> inline typename VT::V vrelu6_shift3(typename VT::V v) {
  const typename VT::V r = VT::add(v, VT::splat(3.0f));
  return VT::min(VT::splat(6.0f), VT::max(VT::zero(), r));
}

/// The epilogue `e` on one vector, for the activations activate_into()
/// vectorises (the others are left to activate()).
template <class VT>
inline typename VT::V activate_vec(const Epilogue &e, typename VT::V v) {
  switch (e.act) {
  case ACT_RELU:
    return VT::relu(v);
  case ACT_RELU6:
    return VT::relu6(v);
  case ACT_SIGMOID:
    return vsigmoid<VT>(v);
  case ACT_SILU:
    return vsilu<VT>(v);
  case ACT_HARDSWISH: // v * r / 6, as activate() rounds it
    return VT::div(VT::mul(v, vrelu6_shift3<VT>(v)), VT::splat(6.0f));
  case ACT_HARDSIGMOID:
    return VT::div(vrelu6_shift3<VT>(v), VT::splat(6.0f));
  default:
    return v;
  }
}

/// y[i] = activate_vec(x[i]) for i in [0, n) (x == y allowed), a tail
/// shorter than a vector through a stack copy (so every element gets the
/// same arithmetic).
template <class VT, int ACT>
inline void activate_as(const Epilogue &e, const float *x, float *y,
                        index_t n) {
  constexpr int L = VT::kLanes;
  const Epilogue k = {ACT, e.a, e.b}; // a constant case for the switch
  index_t i = 0;
  for (; i + L <= n; i += L)
    VT::store(y + i, activate_vec<VT>(k, VT::load(x + i)));
  if (i < n) {
    float t[L];
    const int rest = int(n - i);
    for (int j = 0; j < L; ++j)
      t[j] = j < rest ? x[i + j] : 0.0f;
    VT::store(t, activate_vec<VT>(k, VT::load(t)));
    for (int j = 0; j < rest; ++j)
      y[i + j] = t[j];
  }
}

/// y[i] = activation(x[i]) for i in [0, n); x and y may be the same
/// buffer: vectorised over the ISA's Vec for ReLU, ReLU6, Sigmoid, SiLU,
/// Hardswish and Hardsigmoid (the exponentials by vexp()), activate() for
/// the others and for every activation on a one-lane ISA.
template <class VT = uk::Vec>
inline void activate_into(const Epilogue &e, const float *x, float *y,
                          index_t n) {
  if constexpr (VT::kLanes == 1) {
    // One lane (a Cortex-M's FPU): the scalar activate(), without a second
    // copy of each activation in flash.
    for (index_t i = 0; i < n; ++i)
      y[i] = activate(e, x[i]);
    return;
  }
  switch (e.act) {
  case ACT_NONE:
    if (x != y)
      for (index_t i = 0; i < n; ++i)
        y[i] = x[i];
    return;
  case ACT_RELU:
    return activate_as<VT, ACT_RELU>(e, x, y, n);
  case ACT_RELU6:
    return activate_as<VT, ACT_RELU6>(e, x, y, n);
  case ACT_SIGMOID:
    return activate_as<VT, ACT_SIGMOID>(e, x, y, n);
  case ACT_SILU:
    return activate_as<VT, ACT_SILU>(e, x, y, n);
  case ACT_HARDSWISH:
    return activate_as<VT, ACT_HARDSWISH>(e, x, y, n);
  case ACT_HARDSIGMOID:
    return activate_as<VT, ACT_HARDSIGMOID>(e, x, y, n);
  default:
    for (index_t i = 0; i < n; ++i)
      y[i] = activate(e, x[i]);
  }
}

/// Applies the epilogue `e` to `n` contiguous values in place (as
/// activate_into()).
template <class VT = uk::Vec>
inline void activate_span(const Epilogue &e, float *y, index_t n) {
  activate_into<VT>(e, y, y, n);
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
    activate_into(e, in, y, n);
  }
}

} // namespace kiln_rt
