// Kiln runtime, portable micro-kernel primitives: the GCC/Clang 4-float
// vector where the target has SIMD registers (SSE2, NEON without the NEON
// path, ...), a plain float elsewhere (a Cortex-M's scalar FPU). Multiply
// then add (the compiler may contract them where it is allowed to); no
// headers, so the path stays freestanding. KILN_UK_SCALAR forces the
// one-float form (to test the Cortex-M path on a host).
#pragma once

#include "../../kernels/common.h"
#include "../tiles.h"

namespace kiln_rt {
namespace uk {
inline namespace KILN_UK_NS {

#if (defined(__SSE2__) || defined(__ARM_NEON) || defined(__wasm_simd128__)) && \
    !defined(KILN_UK_SCALAR)
/// The instruction set these primitives use (NAME.h records it).
constexpr const char *kIsa = "portable";
constexpr IsaTile kTile = isa_tile(kIsa);
/// One vector of kLanes floats.
struct Vec {
  typedef f32x4 V;
  typedef int Vi __attribute__((vector_size(16)));
  static constexpr int kLanes = kTile.lanes;
  /// Vectors per micro-tile row: the tile is MR x (kVecs * kLanes).
  static constexpr int kVecs = kTile.vecs;
  /// The most rows a tile holds in registers (12 of 16 xmm accumulate).
  static constexpr int kMaxRows = kTile.max_rows;
  static V zero() { return splat(0.0f); }
  static V splat(float s) { return V{s, s, s, s}; }
  static V load(const float *p) { return load4(p); }
  static void store(float *p, V v) { __builtin_memcpy(p, &v, sizeof v); }
  static V fma(V a, V b, V c) { return a * b + c; }
  static V add(V a, V b) { return a + b; }
  static V mul(V a, V b) { return a * b; }
  static V sub(V a, V b) { return a - b; }
  static V div(V a, V b) { return a / b; }
  /// a > b ? a : b, lane-wise: b when either is NaN (as x86's maxps).
  static V max(V a, V b) { return a > b ? a : b; }
  /// a < b ? a : b, lane-wise: b when either is NaN.
  static V min(V a, V b) { return a < b ? a : b; }
  /// p * 2^n for integral n in [-252, 254], rounded once: two exact
  /// power-of-two factors built in the exponent field (the second product
  /// rounds, to inf or a subnormal as the true value does).
  static V ldexp(V p, V n) {
    const Vi ni = __builtin_convertvector(n, Vi);
    const Vi h = ni >> 1;
    return p * (V)((h + 127) << 23) * (V)((ni - h + 127) << 23);
  }
  /// The sum of the lanes, as a tree of pairwise adds (halves first).
  static float reduce_add(V v) { return (v[0] + v[2]) + (v[1] + v[3]); }
  /// relu() lane-wise: negative lanes cleared by their sign bit, NaN kept.
  static V relu(V v) {
    Vi b = (Vi)v;
    const Vi negative = b < 0;
    const Vi nan = (b & 0x7fffffff) > 0x7f800000;
    b &= ~negative | nan;
    return (V)b;
  }
  /// min(6, max(0, v)), NaN kept.
  static V relu6(V v) {
    const V six = splat(6.0f);
    v = relu(v);
    return v > six ? six : v;
  }
};
#else
/// The instruction set these primitives use (NAME.h records it).
constexpr const char *kIsa = "scalar";
constexpr IsaTile kTile = isa_tile(kIsa);
/// One float: the scalar FPU of a microcontroller.
struct Vec {
  typedef float V;
  static constexpr int kLanes = kTile.lanes;
  /// The tile is MR x kVecs floats.
  static constexpr int kVecs = kTile.vecs;
  /// The most rows a tile holds in registers (16 of 32 s registers).
  static constexpr int kMaxRows = kTile.max_rows;
  static V zero() { return 0.0f; }
  static V splat(float s) { return s; }
  static V load(const float *p) { return *p; }
  static void store(float *p, V v) { *p = v; }
  static V fma(V a, V b, V c) { return a * b + c; }
  static V add(V a, V b) { return a + b; }
  static V mul(V a, V b) { return a * b; }
  static V sub(V a, V b) { return a - b; }
  static V div(V a, V b) { return a / b; }
  /// a > b ? a : b: b when either is NaN (as x86's maxss).
  static V max(V a, V b) { return a > b ? a : b; }
  /// a < b ? a : b: b when either is NaN.
  static V min(V a, V b) { return a < b ? a : b; }
  /// p * 2^n for integral n in [-252, 254], rounded once: two exact
  /// power-of-two factors built in the exponent field (the second product
  /// rounds, to inf or a subnormal as the true value does).
  static V ldexp(V p, V n) {
    const int ni = int(n), h = ni >> 1;
    const unsigned int b1 = unsigned(h + 127) << 23, b2 = unsigned(ni - h + 127)
                                                          << 23;
    float s1, s2;
    __builtin_memcpy(&s1, &b1, 4);
    __builtin_memcpy(&s2, &b2, 4);
    return p * s1 * s2;
  }
  /// The one lane.
  static float reduce_add(V v) { return v; }
  static V relu(V v) { return kiln_rt::relu(v); }
  static V relu6(V v) { return v < 0.0f ? 0.0f : (v > 6.0f ? 6.0f : v); }
};
#endif

} // namespace KILN_UK_NS
} // namespace uk
} // namespace kiln_rt
