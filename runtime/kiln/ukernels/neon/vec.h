// Kiln runtime, AArch64 NEON micro-kernel primitives: 4-float vectors (q
// registers), explicit fused multiply-add. Register tile: up to 12 rows x 2
// vectors (24 accumulators of the 32 q registers; 2 for B, 1 broadcast).
#pragma once

#include "../tiles.h"

#include <arm_neon.h>

namespace kiln_rt {
namespace uk {
inline namespace KILN_UK_NS {

/// The instruction set these primitives use (NAME.h records it).
constexpr const char *kIsa = "neon";
constexpr IsaTile kTile = isa_tile(kIsa);

/// One vector of kLanes floats.
struct Vec {
  typedef float32x4_t V;
  static constexpr int kLanes = kTile.lanes;
  /// Vectors per micro-tile row: the tile is MR x (kVecs * kLanes).
  static constexpr int kVecs = kTile.vecs;
  /// The most rows a tile holds in registers.
  static constexpr int kMaxRows = kTile.max_rows;
  static V zero() { return vdupq_n_f32(0.0f); }
  static V splat(float s) { return vdupq_n_f32(s); }
  static V load(const float *p) { return vld1q_f32(p); }
  static void store(float *p, V v) { vst1q_f32(p, v); }
  /// a * b + c, rounded once.
  static V fma(V a, V b, V c) { return vfmaq_f32(c, a, b); }
  static V add(V a, V b) { return vaddq_f32(a, b); }
  static V mul(V a, V b) { return vmulq_f32(a, b); }
  static V sub(V a, V b) { return vsubq_f32(a, b); }
  static V div(V a, V b) { return vdivq_f32(a, b); }
  /// a > b ? a : b, lane-wise: b when either is NaN (as x86's vmaxps;
  /// FMAX would return the NaN of either operand).
  static V max(V a, V b) { return vbslq_f32(vcgtq_f32(a, b), a, b); }
  /// a < b ? a : b, lane-wise: b when either is NaN.
  static V min(V a, V b) { return vbslq_f32(vcltq_f32(a, b), a, b); }
  /// p * 2^n for integral n in [-252, 254], rounded once: two exact
  /// power-of-two factors built in the exponent field (the second product
  /// rounds, to inf or a subnormal as the true value does).
  static V ldexp(V p, V n) {
    const int32x4_t ni = vcvtq_s32_f32(n);
    const int32x4_t h = vshrq_n_s32(ni, 1);
    const int32x4_t bias = vdupq_n_s32(127);
    const V s1 = vreinterpretq_f32_s32(vshlq_n_s32(vaddq_s32(h, bias), 23));
    const V s2 = vreinterpretq_f32_s32(
        vshlq_n_s32(vaddq_s32(vsubq_s32(ni, h), bias), 23));
    return vmulq_f32(vmulq_f32(p, s1), s2);
  }
  /// The sum of the lanes, as a tree of pairwise adds.
  static float reduce_add(V v) {
    const float32x2_t h = vadd_f32(vget_low_f32(v), vget_high_f32(v));
    return vget_lane_f32(h, 0) + vget_lane_f32(h, 1);
  }
  /// max(0, v); FMAX returns NaN when an operand is NaN.
  static V relu(V v) { return vmaxq_f32(zero(), v); }
  /// min(6, max(0, v)), NaN kept.
  static V relu6(V v) { return vminq_f32(splat(6.0f), relu(v)); }
};

} // namespace KILN_UK_NS
} // namespace uk
} // namespace kiln_rt
