// Kiln runtime: the GEMM micro-kernel, written once over the primitives of
// the ISA chosen in isa.h (the BLIS design: portable loops around a small
// register-tiled kernel; only Vec is per ISA).
//
// One call computes an MR x NR tile of C (NR = Vec::kVecs * Vec::kLanes):
//   C[m][n] = init[m][n] + sum_{k < kc} A[k * lda + m] * B[k * ldb + n]
// with A a packed weight panel (MR consecutive values per k) and B a packed
// input strip (ldb = NR) or a row-major matrix (any ldb). The MR x NR
// accumulators stay in registers for the whole k loop.
#pragma once

#include "../kernels/common.h"
#include "isa.h"

namespace kiln_rt {
namespace uk {
inline namespace KILN_UK_NS {

/// Columns of a micro-tile.
constexpr int kNR = Vec::kVecs * Vec::kLanes;
/// The widest tile of any ISA (scratch for packed strips is sized for it,
/// so that a plan made for one ISA runs on any).
constexpr int kMaxNR = 32;
static_assert(kNR <= kMaxNR, "a micro-tile wider than kMaxNR");

/// What a tile does besides its multiply-adds.
struct TileSpec {
  /// Start from these MR row values (broadcast along the row), or 0 if null;
  /// ignored when `accumulate`.
  const float *bias;
  /// Start from the values in C (a later chunk of k).
  bool accumulate;
  /// The last chunk: add `residual` (laid out like C) and apply `act` if it
  /// is ACT_NONE, ACT_RELU or ACT_RELU6 (other activations are the caller's,
  /// on the stored values).
  bool last;
  const float *residual;
  int act;
  /// Rows and columns stored (the rest of the tile is computed and dropped).
  int rows, cols;
};

/// A tile of plain products (no bias, residual or activation) of `rows` x
/// `cols`, started from 0 or (`accumulate`) from the values in C.
inline TileSpec plain_tile(int rows, int cols, bool accumulate = false) {
  TileSpec t;
  t.bias = nullptr;
  t.accumulate = accumulate;
  t.last = false;
  t.residual = nullptr;
  t.act = ACT_NONE;
  t.rows = rows;
  t.cols = cols;
  return t;
}

/// Whether the micro-kernel applies activation `act` itself.
inline bool applies_activation(int act) {
  return act == ACT_NONE || act == ACT_RELU || act == ACT_RELU6;
}

/// Whether this ISA's Vec has masked loads and stores (Mask, range_mask,
/// load_masked, store_masked); the others take the lanes one at a time.
template <class W>
constexpr auto has_masked_lanes(int) -> decltype(W::range_mask(0, 0), true) {
  return true;
}
template <class W> constexpr bool has_masked_lanes(long) { return false; }
constexpr bool kMaskedLanes = has_masked_lanes<Vec>(0);

/// Lanes [lo, hi) from p + lane (the bounds clamped to [0, kLanes]), the
/// others 0; only the lanes in range are read.
template <class W = Vec>
inline typename W::V load_range(const float *p, int lo, int hi) {
  if constexpr (has_masked_lanes<W>(0)) {
    return W::load_masked(p, W::range_mask(lo, hi));
  } else {
    float tmp[Vec::kLanes] = {};
    for (int i = lo < 0 ? 0 : lo; i < hi && i < Vec::kLanes; ++i)
      tmp[i] = p[i];
    return Vec::load(tmp);
  }
}

/// The first `n` lanes from p (all of them if n >= kLanes), the rest 0.
inline Vec::V load_lanes(const float *p, int n) { return load_range(p, 0, n); }

/// Stores the first `n` lanes of v at p (all of them if n >= kLanes).
template <class W = Vec>
inline void store_lanes(float *p, typename W::V v, int n) {
  if constexpr (has_masked_lanes<W>(0)) {
    W::store_masked(p, v, W::range_mask(0, n));
  } else {
    float tmp[Vec::kLanes];
    Vec::store(tmp, v);
    for (int i = 0; i < n && i < Vec::kLanes; ++i)
      p[i] = tmp[i];
  }
}

/// The micro-kernel: an MR x kNR tile (MR <= Vec::kMaxRows).
template <int MR>
inline void gemm_tile(int kc, const float *a, int lda, const float *b,
                      index_t ldb, float *c, index_t ldc, const TileSpec &t) {
  static_assert(MR >= 1 && MR <= Vec::kMaxRows, "tile rows out of range");
  constexpr int NV = Vec::kVecs, L = Vec::kLanes;
  typedef Vec::V V;
  V acc[MR][NV];
  const bool full = t.cols == kNR;
  if (t.accumulate) {
#pragma GCC unroll 16
    for (int m = 0; m < MR; ++m) {
      const float *cm = c + m * ldc;
#pragma GCC unroll 4
      for (int j = 0; j < NV; ++j)
        acc[m][j] = m >= t.rows ? Vec::zero()
                    : full      ? Vec::load(cm + j * L)
                                : load_lanes(cm + j * L, t.cols - j * L);
    }
  } else {
#pragma GCC unroll 16
    for (int m = 0; m < MR; ++m) {
      const V v = Vec::splat(t.bias && m < t.rows ? t.bias[m] : 0.0f);
#pragma GCC unroll 4
      for (int j = 0; j < NV; ++j)
        acc[m][j] = v;
    }
  }
  for (int k = 0; k < kc; ++k) {
    // The weights 128 k steps ahead towards L2: a layer whose weights come
    // from DRAM (ResNet-18's 7x7 stage) is otherwise latency-bound at each
    // 4 KiB page the hardware prefetchers stop at (ResNet-18 29.7 -> 25.1
    // ms on a Xeon; distances 32 / 64 / 256 measured 26.7 / 27.1 / 25.5).
    if (kSimd)
      __builtin_prefetch(a + 128 * lda, 0, 2);
    V bv[NV];
#pragma GCC unroll 4
    for (int j = 0; j < NV; ++j)
      bv[j] = Vec::load(b + j * L);
#pragma GCC unroll 16
    for (int m = 0; m < MR; ++m) {
      const V av = Vec::splat(a[m]);
#pragma GCC unroll 4
      for (int j = 0; j < NV; ++j)
        acc[m][j] = Vec::fma(av, bv[j], acc[m][j]);
    }
    a += lda;
    b += ldb;
  }
  if (t.last) {
    if (t.residual) {
#pragma GCC unroll 16
      for (int m = 0; m < MR; ++m) {
        if (m >= t.rows)
          break;
        const float *rm = t.residual + m * ldc;
#pragma GCC unroll 4
        for (int j = 0; j < NV; ++j)
          acc[m][j] = Vec::add(acc[m][j],
                               full ? Vec::load(rm + j * L)
                                    : load_lanes(rm + j * L, t.cols - j * L));
      }
    }
    if (t.act == ACT_RELU || t.act == ACT_RELU6) {
#pragma GCC unroll 16
      for (int m = 0; m < MR; ++m)
#pragma GCC unroll 4
        for (int j = 0; j < NV; ++j)
          acc[m][j] =
              t.act == ACT_RELU ? Vec::relu(acc[m][j]) : Vec::relu6(acc[m][j]);
    }
  }
#pragma GCC unroll 16
  for (int m = 0; m < MR; ++m) {
    if (m >= t.rows)
      break;
    float *cm = c + m * ldc;
#pragma GCC unroll 4
    for (int j = 0; j < NV; ++j) {
      if (full)
        Vec::store(cm + j * L, acc[m][j]);
      else if (j * L < t.cols)
        store_lanes(cm + j * L, acc[m][j],
                    t.cols - j * L < L ? t.cols - j * L : L);
    }
  }
}

/// A tile of MR rows of any height: split into tiles the registers hold
/// (a layout packed for a wider ISA still runs, in more passes).
template <int MR>
inline void gemm_rows(int kc, const float *a, int lda, const float *b,
                      index_t ldb, float *c, index_t ldc, TileSpec t) {
  constexpr int H = MR < Vec::kMaxRows ? MR : Vec::kMaxRows;
  gemm_tile<H>(kc, a, lda, b, ldb, c, ldc, t);
  if constexpr (MR > H) {
    if (t.rows > H) {
      t.rows -= H;
      if (t.bias)
        t.bias += H;
      if (t.residual)
        t.residual += H * ldc;
      gemm_rows<MR - H>(kc, a + H, lda, b, ldb, c + H * ldc, ldc, t);
    }
  }
}

} // namespace KILN_UK_NS
} // namespace uk
} // namespace kiln_rt

/// Defines NAME_mrN(const PARAMS &, x, w, bias, residual, y, scratch) for
/// each packed block height N a lowering may name, each calling NAME<N>.
#define KILN_DEFINE_MR_KERNELS(NAME, PARAMS)                                   \
  KILN_MR_KERNEL(NAME, PARAMS, 4)                                              \
  KILN_MR_KERNEL(NAME, PARAMS, 6)                                              \
  KILN_MR_KERNEL(NAME, PARAMS, 8)                                              \
  KILN_MR_KERNEL(NAME, PARAMS, 12)                                             \
  KILN_MR_KERNEL(NAME, PARAMS, 16)
#define KILN_MR_KERNEL(NAME, PARAMS, MR)                                       \
  inline void NAME##_mr##MR(const PARAMS &p, const float *x, const float *w,   \
                            const float *bias, const float *residual,          \
                            float *y, float *scratch) {                        \
    NAME<MR>(p, x, w, bias, residual, y, scratch);                             \
  }
