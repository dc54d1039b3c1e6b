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
  /// A set of lanes (all ones in each lane of the set), for masked loads
  /// and stores.
  typedef __m256i Mask;
  /// Lanes i with lo <= i < hi.
  static Mask range_mask(int lo, int hi) {
    const __m256i i = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_andnot_si256(_mm256_cmpgt_epi32(_mm256_set1_epi32(lo), i),
                               _mm256_cmpgt_epi32(_mm256_set1_epi32(hi), i));
  }
  /// The lanes of m from p + lane, the others 0 and not read (no fault).
  static V load_masked(const float *p, Mask m) {
    return _mm256_maskload_ps(p, m);
  }
  /// Lanes 0, 2, 4, ... of a, then those of b.
  static V even_lanes(V a, V b) {
    // [a0 a2 b0 b2 | a4 a6 b4 b6], then the 64-bit pairs in order 0 2 1 3.
    const __m256 e = _mm256_shuffle_ps(a, b, _MM_SHUFFLE(2, 0, 2, 0));
    return _mm256_castpd_ps(
        _mm256_permute4x64_pd(_mm256_castps_pd(e), _MM_SHUFFLE(3, 1, 2, 0)));
  }
  /// Stores the lanes of m at p + lane.
  static void store_masked(float *p, V v, Mask m) {
    _mm256_maskstore_ps(p, m, v);
  }
  /// a * b + c, rounded once.
  static V fma(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
  static V add(V a, V b) { return _mm256_add_ps(a, b); }
  static V mul(V a, V b) { return _mm256_mul_ps(a, b); }
  static V sub(V a, V b) { return _mm256_sub_ps(a, b); }
  static V div(V a, V b) { return _mm256_div_ps(a, b); }
  /// a > b ? a : b, lane-wise: b when either is NaN (vmaxps).
  static V max(V a, V b) { return _mm256_max_ps(a, b); }
  /// a < b ? a : b, lane-wise: b when either is NaN (vminps).
  static V min(V a, V b) { return _mm256_min_ps(a, b); }
  /// p * 2^n for integral n in [-252, 254], rounded once: two exact
  /// power-of-two factors built in the exponent field (the second product
  /// rounds, to inf or a subnormal as the true value does).
  static V ldexp(V p, V n) {
    const __m256i ni = _mm256_cvtps_epi32(n);
    const __m256i h = _mm256_srai_epi32(ni, 1);
    const __m256i bias = _mm256_set1_epi32(127);
    const __m256 s1 =
        _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(h, bias), 23));
    const __m256 s2 = _mm256_castsi256_ps(
        _mm256_slli_epi32(_mm256_add_epi32(_mm256_sub_epi32(ni, h), bias), 23));
    return _mm256_mul_ps(_mm256_mul_ps(p, s1), s2);
  }
  /// The sum of the lanes, as a tree of pairwise adds (halves first).
  static float reduce_add(V v) {
    __m128 q =
        _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    q = _mm_add_ps(q, _mm_movehl_ps(q, q));
    q = _mm_add_ss(q, _mm_movehdup_ps(q));
    return _mm_cvtss_f32(q);
  }
  /// max(0, v), NaN kept (vmaxps returns its second operand on NaN).
  static V relu(V v) { return _mm256_max_ps(zero(), v); }
  /// min(6, max(0, v)), NaN kept.
  static V relu6(V v) { return _mm256_min_ps(splat(6.0f), relu(v)); }
};

} // namespace KILN_UK_NS
} // namespace uk
} // namespace kiln_rt
