// Kiln runtime, AVX2 + FMA micro-kernel primitives: 8-float vectors (ymm),
// explicit fused multiply-add. Register tile: up to 6 rows x 2 vectors (12
// accumulators of the 16 ymm registers; 2 for B, 1 for a broadcast).
#pragma once

#include "../tiles.h"

#include "../x86_intrin.h"

namespace kiln_rt {
namespace uk {
inline namespace KILN_UK_NS {

/// The instruction set these primitives use (NAME.h records it).
constexpr const char *kIsa = "avx2";
constexpr IsaTile kTile = isa_tile(kIsa);

/// One vector of kLanes floats.
struct Vec {
  typedef __m256 V;
  static constexpr int kLanes = kTile.lanes;
  /// Vectors per micro-tile row: the tile is MR x (kVecs * kLanes).
  static constexpr int kVecs = kTile.vecs;
  /// The most rows a tile holds in registers.
  static constexpr int kMaxRows = kTile.max_rows;
  static V zero() { return _mm256_setzero_ps(); }
  static V splat(float s) { return _mm256_set1_ps(s); }
  static V load(const float *p) { return _mm256_loadu_ps(p); }
  static void store(float *p, V v) { _mm256_storeu_ps(p, v); }
  /// a * b + c, rounded once.
  static V fma(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
  static V add(V a, V b) { return _mm256_add_ps(a, b); }
  /// max(0, v), NaN kept (vmaxps returns its second operand on NaN).
  static V relu(V v) { return _mm256_max_ps(zero(), v); }
  /// min(6, max(0, v)), NaN kept.
  static V relu6(V v) { return _mm256_min_ps(splat(6.0f), relu(v)); }
};

} // namespace KILN_UK_NS
} // namespace uk
} // namespace kiln_rt
