// Kiln runtime, AVX-512 micro-kernel primitives: 16-float vectors (zmm),
// explicit fused multiply-add. Register tile: up to 12 rows x 2 vectors
// (24 accumulators of the 32 zmm registers; 2 for B, 1 for a broadcast).
#pragma once

#include "../tiles.h"

#include "../x86_intrin.h"

namespace kiln_rt {
namespace uk {
inline namespace KILN_UK_NS {

/// The instruction set these primitives use (NAME.h records it).
constexpr const char *kIsa = "avx512";
constexpr IsaTile kTile = isa_tile(kIsa);

/// One vector of kLanes floats.
struct Vec {
  typedef __m512 V;
  static constexpr int kLanes = kTile.lanes;
  /// Vectors per micro-tile row: the tile is MR x (kVecs * kLanes).
  static constexpr int kVecs = kTile.vecs;
  /// The most rows a tile holds in registers.
  static constexpr int kMaxRows = kTile.max_rows;
  static V zero() { return _mm512_setzero_ps(); }
  static V splat(float s) { return _mm512_set1_ps(s); }
  static V load(const float *p) { return _mm512_loadu_ps(p); }
  static void store(float *p, V v) { _mm512_storeu_ps(p, v); }
  /// A set of lanes, for masked loads and stores.
  typedef __mmask16 Mask;
  /// Lanes [lo, hi), both clamped to [0, kLanes].
  static Mask range_mask(int lo, int hi) {
    const unsigned l = lo < 0 ? 0u : lo > 16 ? 16u : unsigned(lo);
    const unsigned h = hi < 0 ? 0u : hi > 16 ? 16u : unsigned(hi);
    return Mask(((1u << h) - 1u) & ~((1u << l) - 1u));
  }
  /// The lanes of m from p + lane, the others 0 and not read (no fault).
  static V load_masked(const float *p, Mask m) {
    return _mm512_maskz_loadu_ps(m, p);
  }
  /// Lanes 0, 2, 4, ... of a, then those of b.
  static V even_lanes(V a, V b) {
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18,
                                           20, 22, 24, 26, 28, 30);
    return _mm512_permutex2var_ps(a, even, b);
  }
  /// Stores the lanes of m at p + lane.
  static void store_masked(float *p, V v, Mask m) {
    _mm512_mask_storeu_ps(p, m, v);
  }
  /// a * b + c, rounded once.
  static V fma(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
  static V add(V a, V b) { return _mm512_add_ps(a, b); }
  static V mul(V a, V b) { return _mm512_mul_ps(a, b); }
  static V sub(V a, V b) { return _mm512_sub_ps(a, b); }
  static V div(V a, V b) { return _mm512_div_ps(a, b); }
  /// a > b ? a : b, lane-wise: b when either is NaN (vmaxps).
  static V max(V a, V b) { return _mm512_maskz_max_ps(0xffff, a, b); }
  /// a < b ? a : b, lane-wise: b when either is NaN (vminps).
  static V min(V a, V b) { return _mm512_maskz_min_ps(0xffff, a, b); }
  /// p * 2^n for integral n, rounded once (overflow to inf, gradual
  /// underflow): vscalefps.
  static V ldexp(V p, V n) { return _mm512_maskz_scalef_ps(0xffff, p, n); }
  /// The sum of the lanes, as a tree of pairwise adds (halves first).
  static float reduce_add(V v) {
    // The zero-masking extracts: GCC 12's _mm512_castps512_ps256 and
    // _mm512_extractf64x4_pd trip -Wmaybe-uninitialized, as max above.
    const __m512d d = _mm512_castps_pd(v);
    const __m256 h = _mm256_add_ps(
        _mm256_castpd_ps(_mm512_maskz_extractf64x4_pd(0xf, d, 0)),
        _mm256_castpd_ps(_mm512_maskz_extractf64x4_pd(0xf, d, 1)));
    __m128 q =
        _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
    q = _mm_add_ps(q, _mm_movehl_ps(q, q));
    q = _mm_add_ss(q, _mm_movehdup_ps(q));
    return _mm_cvtss_f32(q);
  }
  /// max(0, v), NaN kept (vmaxps returns its second operand on NaN). The
  /// zero-masking forms: GCC 12's _mm512_max_ps / _mm512_min_ps trip
  /// -Wmaybe-uninitialized (their _mm512_undefined_ps) under -Werror.
  static V relu(V v) { return _mm512_maskz_max_ps(0xffff, zero(), v); }
  /// min(6, max(0, v)), NaN kept.
  static V relu6(V v) {
    return _mm512_maskz_min_ps(0xffff, splat(6.0f), relu(v));
  }
};

} // namespace KILN_UK_NS
} // namespace uk
} // namespace kiln_rt
