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
  /// max(0, v); FMAX returns NaN when an operand is NaN.
  static V relu(V v) { return vmaxq_f32(zero(), v); }
  /// min(6, max(0, v)), NaN kept.
  static V relu6(V v) { return vminq_f32(splat(6.0f), relu(v)); }
};

} // namespace KILN_UK_NS
} // namespace uk
} // namespace kiln_rt
