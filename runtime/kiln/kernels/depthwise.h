// Kiln runtime: depthwise convolution (groups == cin == cout, one input and
// one output channel per group), 1-D or 2-D, any kernel size, stride,
// padding and dilation, with bias, residual and the fused epilogue. Written
// once over the micro-kernel vector primitives (ukernels/isa.h: AVX-512,
// AVX2, NEON, the portable 4-float vector or one float), vectorised along
// the output width; each (batch, channel) plane splats its taps' weights
// once (held in registers for the 3x3 and 5x5 kernels). Two paths:
//   - staged (vectors of several lanes): a band of the plane's input rows
//     is copied into a zero-padded stack buffer, split by stride phase
//     (stride 2: even and odd rows and columns apart, the columns by one
//     permute per vector), so that every tap of every output is a plain
//     vector load at a constant offset from the output's place in a flat
//     run over the band's rows. The run goes in tiles of kTile vectors
//     (kTile accumulators in flight), with no bounds test and no border
//     case whatever the padding, stride and dilation (the few columns
//     between rows are computed and dropped); its rows are then stored
//     with the epilogue. MobileNet's 14- and 7-wide rows cost no more than
//     wide ones.
//   - in place (one-lane vectors, e.g. a Cortex-M's FPU: no stack buffer;
//     and geometries whose band does not fit the buffer): the interior
//     columns of each row (every tap of every lane inside the input) in
//     tiles without bounds tests, stride 2 reading two contiguous vectors
//     per tap and keeping their even lanes, other strides lane by lane; the
//     border columns one output at a time, taps in the padding skipped.
// Each output is bias + its taps in (kh, kw) order, then + residual, then
// the activation (ReLU and ReLU6 in registers, the others on the stored
// plane), as store_epilogue() computes it. y must not overlap x or the
// residual (buffer plans never let it): a row's last tile may store outputs
// again, and a row narrower than a vector is stored as a whole vector whose
// last lanes land on outputs stored later. Stack: three buffers of 128
// floats per lane on the staged path (8 KB each with AVX-512).
#pragma once

#include "../ukernels/isa.h"
#include "common.h"
#include "conv.h"

/// The tile code is inlined into the row loops whatever the inliner's size
/// heuristics say (the weights must stay in registers across tiles).
#define KILN_DW_INLINE inline __attribute__((always_inline))

namespace kiln_rt {
inline namespace KILN_UK_NS {
namespace depthwise_detail {

/// A 2-D depthwise geometry (1-D: H = OH = KH = 1); the interior output
/// columns [owA, owB) are those whose vector reads stay inside the row.
struct Geom {
  int H, W, OH, OW, KH, KW, sh, sw, ph, pw, dh, dw;
  int owA, owB;
};

/// Vectors of outputs a tile keeps in flight.
constexpr int kTile = 4;

/// Whether VT::V is a compiler vector (GCC / Clang vector extension: the
/// __m512, __m256, float32x4_t and f32x4 of ukernels/*/vec.h) of 4, 8 or
/// 16 lanes, which __builtin_shufflevector permutes.
template <class VT>
constexpr bool kShuffles = (VT::kLanes == 4 || VT::kLanes == 8 ||
                            VT::kLanes == 16) &&
                           !__is_class(typename VT::V) &&
                           sizeof(typename VT::V) == sizeof(float) * VT::kLanes;

/// Floats past the last lane's input that load_strided<VT, S> reads.
template <class VT, int S>
constexpr int kOverread = VT::kLanes > 1 && S == 2 ? 1 : 0;

/// The even lanes of the 2L-lane concatenation lo:hi.
template <class V, int L> KILN_DW_INLINE V even_lanes(V lo, V hi) {
  if constexpr (L == 4)
    return __builtin_shufflevector(lo, hi, 0, 2, 4, 6);
  else if constexpr (L == 8)
    return __builtin_shufflevector(lo, hi, 0, 2, 4, 6, 8, 10, 12, 14);
  else
    return __builtin_shufflevector(lo, hi, 0, 2, 4, 6, 8, 10, 12, 14, 16, 18,
                                   20, 22, 24, 26, 28, 30);
}

/// Lane t of the result is p[t * s]: S == 1 one load; S == 2 (s == 2) two
/// contiguous vectors, their even lanes kept; S == 0 lane by lane, any
/// stride.
template <class VT, int S>
KILN_DW_INLINE typename VT::V load_strided(const float *p, int s) {
  constexpr int L = VT::kLanes;
  if constexpr (S == 1 || L == 1) {
    (void)s;
    return VT::load(p);
  } else if constexpr (S == 2 && kShuffles<VT>) {
    (void)s;
    return even_lanes<typename VT::V, L>(VT::load(p), VT::load(p + L));
  } else if constexpr (S == 2) {
    (void)s;
    float a[2 * L], t[L];
    VT::store(a, VT::load(p));
    VT::store(a + L, VT::load(p + L));
    for (int i = 0; i < L; ++i)
      t[i] = a[2 * i];
    return VT::load(t);
  } else {
    float t[L];
    for (int i = 0; i < L; ++i)
      t[i] = p[index_t(i) * s];
    return VT::load(t);
  }
}

/// The weights of one channel: KH x KW splats held in registers when the
/// kernel size is a template constant, splatted at each use otherwise
/// (KH == KW == 0).
template <class VT, int KH, int KW> struct Taps {
  typename VT::V w[KH * KW];
  KILN_DW_INLINE Taps(const float *wc, const Geom &) {
#pragma GCC unroll 25
    for (int i = 0; i < KH * KW; ++i)
      w[i] = VT::splat(wc[i]);
  }
  KILN_DW_INLINE typename VT::V operator()(int kh, int kw) const {
    return w[kh * KW + kw];
  }
};
template <class VT> struct Taps<VT, 0, 0> {
  const float *wc;
  int kw_n;
  KILN_DW_INLINE Taps(const float *w, const Geom &g) : wc(w), kw_n(g.KW) {}
  KILN_DW_INLINE typename VT::V operator()(int kh, int kw) const {
    return VT::splat(wc[kh * kw_n + kw]);
  }
};

/// What one output row reads and writes: input column c of kernel row kh
/// (kh0 <= kh < kh1, the rows inside the input) is x0[(kh - kh0) * rstep +
/// c + xoff]; output ow's first input column is ow * sw.
template <class VT> struct Row {
  const float *x0;
  index_t rstep;
  int xoff;
  int kh0, kh1;
  float b;
  typename VT::V bv;
  const float *r;
  float *y;
  int vact;
};

/// acc[v] (v < T) = b + the taps of the L * T outputs whose first input is
/// x[0] in kernel row kh0. Every read is inside the rows (the caller
/// checked).
template <class VT, int T, int KH, int KW, int S>
KILN_DW_INLINE void tile(const Geom &g, const Taps<VT, KH, KW> &taps,
                         const Row<VT> &row, const float *x,
                         typename VT::V *acc) {
  constexpr int L = VT::kLanes;
  const int sw = S ? S : g.sw, dw = g.dw;
#pragma GCC unroll 4
  for (int v = 0; v < T; ++v)
    acc[v] = row.bv;
  if constexpr (KH > 0) {
    // Fully unrolled, so that the weights stay in registers.
#pragma GCC unroll 7
    for (int kh = 0; kh < KH; ++kh) {
      if (kh < row.kh0 || kh >= row.kh1)
        continue;
      const float *xr = x + (kh - row.kh0) * row.rstep;
#pragma GCC unroll 7
      for (int kw = 0; kw < KW; ++kw) {
        const typename VT::V wv = taps(kh, kw);
        const float *xs = xr + kw * dw;
#pragma GCC unroll 4
        for (int v = 0; v < T; ++v)
          acc[v] = VT::fma(load_strided<VT, S>(xs + index_t(v) * L * sw, sw),
                           wv, acc[v]);
      }
    }
  } else {
    const float *xr = x;
    for (int kh = row.kh0; kh < row.kh1; ++kh, xr += row.rstep)
      for (int kw = 0; kw < g.KW; ++kw) {
        const typename VT::V wv = taps(kh, kw);
        const float *xs = xr + kw * dw;
#pragma GCC unroll 4
        for (int v = 0; v < T; ++v)
          acc[v] = VT::fma(load_strided<VT, S>(xs + index_t(v) * L * sw, sw),
                           wv, acc[v]);
      }
  }
}

/// The epilogue in registers: + residual, then ReLU / ReLU6 (`vact`; the
/// other activations are applied to the stored plane, activate_rest).
template <class VT>
KILN_DW_INLINE typename VT::V finish(typename VT::V acc, const float *r,
                                     int vact) {
  if (r)
    acc = VT::add(acc, VT::load(r));
  if (vact == ACT_RELU)
    acc = VT::relu(acc);
  else if (vact == ACT_RELU6)
    acc = VT::relu6(acc);
  return acc;
}

/// The scalar epilogue of one output.
KILN_DW_INLINE float finish1(float v, const float *r, int vact) {
  if (r)
    v += *r;
  if (vact == ACT_RELU)
    v = relu(v);
  else if (vact == ACT_RELU6)
    v = v < 0.0f ? 0.0f : (v > 6.0f ? 6.0f : v);
  return v;
}

/// The T vectors of outputs from column ow.
template <class VT, int T, int KH, int KW, int S>
KILN_DW_INLINE void vectors(const Geom &g, const Taps<VT, KH, KW> &taps,
                            const Row<VT> &row, int ow) {
  constexpr int L = VT::kLanes;
  typename VT::V acc[T];
  tile<VT, T, KH, KW, S>(g, taps, row, row.x0 + (index_t(ow) * g.sw + row.xoff),
                         acc);
#pragma GCC unroll 4
  for (int v = 0; v < T; ++v)
    VT::store(
        row.y + ow + v * L,
        finish<VT>(acc[v], row.r ? row.r + ow + v * L : nullptr, row.vact));
}

/// vectors<N'> for N' = nv (1 <= nv <= N).
template <class VT, int N, int KH, int KW, int S>
KILN_DW_INLINE void vectors_n(const Geom &g, const Taps<VT, KH, KW> &taps,
                              const Row<VT> &row, int ow, int nv) {
  if constexpr (N > 1) {
    if (nv < N) {
      vectors_n<VT, N - 1, KH, KW, S>(g, taps, row, ow, nv);
      return;
    }
  }
  vectors<VT, N, KH, KW, S>(g, taps, row, ow);
}

/// Outputs [a, b) of a row (b - a >= L), all of whose reads are inside the
/// rows: tiles of kTile vectors, then the rest as nv vectors ending at b
/// (overlapping outputs already stored), one more at the first column left
/// if they cannot start before a.
template <class VT, int KH, int KW, int S>
KILN_DW_INLINE void span(const Geom &g, const Taps<VT, KH, KW> &taps,
                         const Row<VT> &row, int a, int b) {
  constexpr int L = VT::kLanes;
  int ow = a;
  for (; ow + L * kTile <= b; ow += L * kTile)
    vectors<VT, kTile, KH, KW, S>(g, taps, row, ow);
  if (ow < b) {
    int nv = (b - ow + L - 1) / L;
    if (b - nv * L < a)
      --nv;
    if (b - nv * L > ow)
      vectors<VT, 1, KH, KW, S>(g, taps, row, ow);
    vectors_n<VT, kTile, KH, KW, S>(g, taps, row, b - nv * L, nv);
  }
}

/// Output column ow alone, taps in the padding skipped (reads the input in
/// place: xoff == -pw).
template <class VT>
inline void point(const Geom &g, const float *wc, const Row<VT> &row, int ow) {
  float acc = row.b;
  const int iw0 = ow * g.sw - g.pw;
  const float *xr = row.x0;
  for (int kh = row.kh0; kh < row.kh1; ++kh, xr += row.rstep) {
    const float *wk = wc + kh * g.KW;
    for (int kw = 0; kw < g.KW; ++kw) {
      const int iw = iw0 + kw * g.dw;
      if (iw >= 0 && iw < g.W)
        acc += wk[kw] * xr[iw];
    }
  }
  row.y[ow] = finish1(acc, row.r ? row.r + ow : nullptr, row.vact);
}

/// Floats of each of the three stack buffers of the staged path.
template <class VT> constexpr int kStageFloats = 128 * VT::kLanes;
/// The most taps and the largest stride the staged path handles.
constexpr int kStageTaps = 64, kStageStride = 4;

/// The staged path's layout: the input rows a band of `nb` output rows
/// reads, zero-padded, split into sh x sw phase planes (phase (pr, pc)
/// holds the padded input rows R = pr (mod sh) and columns C = pc (mod
/// sw)), each `rows` rows of `pitch` floats. Output (oh, ow) of the band is
/// then at q = (oh - oh0) * pitch + ow of a flat run, and tap (kh, kw)
/// reads the run shifted by off[kh * KW + kw]: every tap of every output a
/// plain vector load at a constant offset, whatever the stride, padding and
/// dilation (the pitch - OW columns after each row are computed and
/// dropped). Phase column j of phase pc holds input column j * sw + pc -
/// pw: the cnt[pc] columns from jlo[pc] are the input's.
struct Stage {
  int pitch, rows, nb, phase_floats, floats;
  int off[kStageTaps];
  int jlo[kStageStride], cnt[kStageStride];
};

/// Fills `s` for geometry g; false when the staged path does not apply
/// (too many taps, a stride above kStageStride, or one output row's input
/// rows do not fit the buffer).
template <class VT> inline bool stage_layout(const Geom &g, Stage &s) {
  if (g.KH * g.KW > kStageTaps || g.sh > kStageStride || g.sw > kStageStride)
    return false;
  s.pitch = g.OW + (g.KW - 1) * g.dw / g.sw;
  const int extra = (g.KH - 1) * g.dh / g.sh;
  const long per_row = long(s.pitch) * g.sh * g.sw;
  const long nb = (kStageFloats<VT> - VT::kLanes) / per_row - extra;
  if (nb < 1)
    return false;
  s.nb = nb < g.OH ? int(nb) : g.OH;
  s.rows = s.nb + extra;
  s.phase_floats = s.rows * s.pitch;
  // The last vectors of the run read up to L - 1 floats past their phase
  // plane: into the next one, or the last plane's slack.
  s.floats = s.phase_floats * g.sh * g.sw + VT::kLanes;
  for (int kh = 0; kh < g.KH; ++kh)
    for (int kw = 0; kw < g.KW; ++kw) {
      const int r = kh * g.dh, c = kw * g.dw;
      s.off[kh * g.KW + kw] = ((r % g.sh) * g.sw + c % g.sw) * s.phase_floats +
                              r / g.sh * s.pitch + c / g.sw;
    }
  for (int pc = 0; pc < g.sw; ++pc) {
    // Phase columns j < pitch with 0 <= j * sw + pc - pw < W.
    const int first = g.pw - pc, last = g.W - 1 + g.pw - pc;
    const int jlo = first > 0 ? (first + g.sw - 1) / g.sw : 0;
    int jhi = last < 0 ? 0 : last / g.sw + 1;
    if (jhi > s.pitch)
      jhi = s.pitch;
    s.jlo[pc] = jlo;
    s.cnt[pc] = jhi > jlo ? jhi - jlo : 0;
  }
  return true;
}

/// dst[0, n) = 0.
template <class VT> KILN_DW_INLINE void zero(float *dst, int n) {
  constexpr int L = VT::kLanes;
  int i = 0;
  for (; i + L <= n; i += L)
    VT::store(dst + i, VT::zero());
  for (; i < n; ++i)
    dst[i] = 0.0f;
}

/// dst[j] = src[j * s] for j in [0, n), by vectors (contiguous for s == 1,
/// even lanes of two vectors for s == 2), lane by lane for other strides.
/// A last partial vector is stored whole when its reads stay below `end`
/// (the input tensor's end), then a vector of zeros at dst + n clears what
/// it wrote past n: the caller's buffer has room there, and holds padding
/// or columns not staged yet.
template <class VT>
KILN_DW_INLINE void gather(float *dst, const float *src, int n, int s,
                           const float *end) {
  constexpr int L = VT::kLanes;
  int j = 0;
  if (s == 1) {
    for (; j + L <= n; j += L)
      VT::store(dst + j, VT::load(src + j));
    if (j < n && src + j + L <= end) {
      VT::store(dst + j, VT::load(src + j));
      VT::store(dst + n, VT::zero());
      return;
    }
  } else if (s == 2 && kShuffles<VT>) {
    for (; j + L <= n && 2 * (j + L) <= 2 * n - 1; j += L)
      VT::store(dst + j, load_strided<VT, 2>(src + 2 * j, 2));
    if (j < n && src + 2 * (j + L) <= end) {
      VT::store(dst + j, load_strided<VT, 2>(src + 2 * j, 2));
      VT::store(dst + n, VT::zero());
      return;
    }
  }
  for (; j < n; ++j)
    dst[j] = src[index_t(j) * s];
}

/// Stores acc = bias + the taps of the T vectors of the run from x.
template <class VT, int T, int KH, int KW>
KILN_DW_INLINE void flat_tile(const Geom &g, const Taps<VT, KH, KW> &taps,
                              const int *off, typename VT::V bv, const float *x,
                              float *out) {
  constexpr int L = VT::kLanes;
  typename VT::V acc[T];
#pragma GCC unroll 4
  for (int v = 0; v < T; ++v)
    acc[v] = bv;
  const int kh_n = KH ? KH : g.KH, kw_n = KW ? KW : g.KW;
#pragma GCC unroll 7
  for (int kh = 0; kh < kh_n; ++kh)
#pragma GCC unroll 7
    for (int kw = 0; kw < kw_n; ++kw) {
      const typename VT::V wv = taps(kh, kw);
      const float *xs = x + off[kh * kw_n + kw];
#pragma GCC unroll 4
      for (int v = 0; v < T; ++v)
        acc[v] = VT::fma(VT::load(xs + v * L), wv, acc[v]);
    }
#pragma GCC unroll 4
  for (int v = 0; v < T; ++v)
    VT::store(out + v * L, acc[v]);
}

/// flat_tile<N'> for N' = nv (1 <= nv <= N).
template <class VT, int N, int KH, int KW>
KILN_DW_INLINE void flat_tile_n(const Geom &g, const Taps<VT, KH, KW> &taps,
                                const int *off, typename VT::V bv,
                                const float *x, float *out, int nv) {
  if constexpr (N > 1) {
    if (nv < N) {
      flat_tile_n<VT, N - 1, KH, KW>(g, taps, off, bv, x, out, nv);
      return;
    }
  }
  flat_tile<VT, N, KH, KW>(g, taps, off, bv, x, out);
}

/// y[0, n) = epilogue(s[0, n) + r[0, n)) (r may be null): vectors, the last
/// one ending at n (n >= L); for n < L one vector stored whole when y + L
/// stays below yend (its last lanes land on outputs stored later), else
/// lane by lane.
template <class VT>
KILN_DW_INLINE void store_row(const float *s, const float *r, float *y, int n,
                              int vact, const float *yend) {
  constexpr int L = VT::kLanes;
  if (n >= L) {
    int i = 0;
    for (; i + L <= n; i += L)
      VT::store(y + i, finish<VT>(VT::load(s + i), r ? r + i : nullptr, vact));
    if (i < n)
      VT::store(y + n - L,
                finish<VT>(VT::load(s + n - L), r ? r + n - L : nullptr, vact));
  } else if (y + L <= yend) {
    // The residual is laid out like y: r + L is inside it too.
    VT::store(y, finish<VT>(VT::load(s), r, vact));
  } else {
    for (int i = 0; i < n; ++i)
      y[i] = finish1(s[i], r ? r + i : nullptr, vact);
  }
}

/// The activations finish() leaves (all but ReLU and ReLU6) on y[0, n), in
/// place, as activate() computes them: loops the compiler vectorises for the
/// piecewise linear ones, activate() (expf, tanhf, ...) for the others.
/// Applied to each whole plane once its taps are done (a call inside the
/// tap loops would spill the weights' registers).
inline void activate_rest(const Epilogue &e, float *y, index_t n) {
  switch (e.act) {
  case ACT_NONE:
  case ACT_RELU:
  case ACT_RELU6:
    return;
  case ACT_LEAKY_RELU:
    for (index_t i = 0; i < n; ++i)
      y[i] = y[i] >= 0.0f ? y[i] : y[i] * e.a;
    return;
  case ACT_HARDTANH:
    for (index_t i = 0; i < n; ++i)
      y[i] = y[i] < e.a ? e.a : (y[i] > e.b ? e.b : y[i]);
    return;
  case ACT_HARDSWISH:
    for (index_t i = 0; i < n; ++i) {
      const float v = y[i], r = v + 3.0f;
      y[i] = v * (r < 0.0f ? 0.0f : (r > 6.0f ? 6.0f : r)) / 6.0f;
    }
    return;
  case ACT_HARDSIGMOID:
    for (index_t i = 0; i < n; ++i) {
      const float r = y[i] + 3.0f;
      y[i] = (r < 0.0f ? 0.0f : (r > 6.0f ? 6.0f : r)) / 6.0f;
    }
    return;
  default: // Sigmoid, SiLU, ... vectorised where activate_span() is
    activate_span(e, y, n);
  }
}

/// Stages the input rows of the band of output rows from oh0 into `in`:
/// each phase plane's input columns row by row, in memory order (gather's
/// whole last vectors only touch later rows). The padding is zeros from the
/// start; with several bands (`bands`) a row outside the input may hold
/// another band's input row: cleared.
template <class VT>
inline void stage_band(const Geom &g, const Stage &st, const float *xc,
                       const float *xend, int oh0, bool bands, float *in) {
  for (int pr = 0; pr < g.sh; ++pr)
    for (int pc = 0; pc < g.sw; ++pc) {
      if (st.cnt[pc] == 0)
        continue;
      float *phase = in + (pr * g.sw + pc) * st.phase_floats + st.jlo[pc];
      const int col = st.jlo[pc] * g.sw + pc - g.pw;
      for (int i = 0; i < st.rows; ++i) {
        const int ih = (oh0 + i) * g.sh + pr - g.ph;
        float *dst = phase + index_t(i) * st.pitch;
        if (ih >= 0 && ih < g.H)
          gather<VT>(dst, xc + (index_t(ih) * g.W + col), st.cnt[pc], g.sw,
                     xend);
        else if (bands)
          zero<VT>(dst, st.cnt[pc]);
      }
    }
}

/// The nb output rows from oh0 of one plane from its staged band `in`: the
/// taps over the flat run into `out`, then its rows stored with the
/// epilogue (the weights wc, bias b, residual plane rc, output plane yc).
template <class VT, int KH, int KW>
inline void run_band(const Geom &g, const Stage &st, const Epilogue &ep,
                     const float *in, const float *wc, float b, const float *rc,
                     float *yc, const float *yend, int oh0, int nb,
                     float *out) {
  constexpr int L = VT::kLanes;
  const Taps<VT, KH, KW> taps(wc, g);
  const typename VT::V bv = VT::splat(b);
  const int vact =
      ep.act == ACT_RELU || ep.act == ACT_RELU6 ? ep.act : ACT_NONE;
  // The run: outputs q in [0, (nb - 1) * pitch + OW), whole vectors.
  const int nv = ((nb - 1) * st.pitch + g.OW + L - 1) / L;
  int v = 0;
  for (; v + kTile <= nv; v += kTile)
    flat_tile<VT, kTile, KH, KW>(g, taps, st.off, bv, in + v * L, out + v * L);
  if (v < nv)
    flat_tile_n<VT, kTile, KH, KW>(g, taps, st.off, bv, in + v * L, out + v * L,
                                   nv - v);
  for (int oh = oh0; oh < oh0 + nb; ++oh)
    store_row<VT>(out + (oh - oh0) * st.pitch,
                  rc ? rc + index_t(oh) * g.OW : nullptr,
                  yc + index_t(oh) * g.OW, g.OW, vact, yend);
}

/// All planes through the staged layout `st`. A plane in one band is staged
/// a plane ahead, into the other of two buffers, so that its stores are
/// long done when the taps read them; a plane in several bands is staged
/// and run band by band.
template <class VT, int KH, int KW>
inline void staged_planes(const ConvParams &p, const Geom &g, const Stage &st,
                          const float *x, const float *w, const float *bias,
                          const float *residual, float *y) {
  float in[2][kStageFloats<VT>], out[kStageFloats<VT>];
  const index_t in_plane = index_t(g.H) * g.W, out_plane = index_t(g.OH) * g.OW;
  const index_t planes = index_t(p.n) * p.cin;
  const float *xend = x + planes * in_plane;
  const float *yend = y + planes * out_plane;
  const int k_vol = g.KH * g.KW;
  const bool bands = st.nb < g.OH;
  // The padding is the same for every plane: cleared once.
  zero<VT>(in[0], st.floats);
  if (!bands) {
    zero<VT>(in[1], st.floats);
    stage_band<VT>(g, st, x, xend, 0, false, in[0]);
  }
  for (index_t nc = 0; nc < planes; ++nc) {
    const int c = int(nc % p.cin);
    const float *wc = w + index_t(c) * k_vol;
    const float b = bias ? bias[c] : 0.0f;
    const float *rc = residual ? residual + nc * out_plane : nullptr;
    float *yc = y + nc * out_plane;
    if (!bands) {
      if (nc + 1 < planes)
        stage_band<VT>(g, st, x + (nc + 1) * in_plane, xend, 0, false,
                       in[(nc + 1) & 1]);
      run_band<VT, KH, KW>(g, st, p.ep, in[nc & 1], wc, b, rc, yc, yend, 0,
                           g.OH, out);
    } else {
      for (int oh0 = 0; oh0 < g.OH; oh0 += st.nb) {
        const int nb = g.OH - oh0 < st.nb ? g.OH - oh0 : st.nb;
        stage_band<VT>(g, st, x + nc * in_plane, xend, oh0, true, in[0]);
        run_band<VT, KH, KW>(g, st, p.ep, in[0], wc, b, rc, yc, yend, oh0, nb,
                             out);
      }
    }
    activate_rest(p.ep, yc, out_plane);
  }
}

/// One (batch, channel) plane.
template <class VT, int KH, int KW, int S>
inline void plane(const Geom &g, const Epilogue &ep, const float *xc,
                  const float *wc, float b, const float *rc, float *yc) {
  constexpr int L = VT::kLanes;
  const Taps<VT, KH, KW> taps(wc, g);
  const int vact =
      ep.act == ACT_RELU || ep.act == ACT_RELU6 ? ep.act : ACT_NONE;
  const int kh_n = KH ? KH : g.KH;
  Row<VT> row;
  row.b = b;
  row.bv = VT::splat(b);
  row.vact = vact;
  const bool wide = g.owB - g.owA >= L;
  row.rstep = index_t(g.dh) * g.W;
  row.xoff = -g.pw;
  for (int oh = 0; oh < g.OH; ++oh) {
    const int ih0 = oh * g.sh - g.ph;
    int kh0 = 0, kh1 = kh_n;
    while (kh0 < kh1 && ih0 + kh0 * g.dh < 0)
      ++kh0;
    while (kh1 > kh0 && ih0 + (kh1 - 1) * g.dh >= g.H)
      --kh1;
    row.kh0 = kh0;
    row.kh1 = kh1;
    row.x0 = kh0 < kh1 ? xc + index_t(ih0 + kh0 * g.dh) * g.W : xc;
    row.r = rc ? rc + index_t(oh) * g.OW : nullptr;
    row.y = yc + index_t(oh) * g.OW;
    if (wide) {
      for (int ow = 0; ow < g.owA; ++ow)
        point<VT>(g, wc, row, ow);
      span<VT, KH, KW, S>(g, taps, row, g.owA, g.owB);
      for (int ow = g.owB; ow < g.OW; ++ow)
        point<VT>(g, wc, row, ow);
    } else {
      for (int ow = 0; ow < g.OW; ++ow)
        point<VT>(g, wc, row, ow);
    }
  }
}

/// All planes with one specialisation.
template <class VT, int KH, int KW, int S>
inline void planes(const ConvParams &p, const Geom &g, const float *x,
                   const float *w, const float *bias, const float *residual,
                   float *y) {
  const index_t in_plane = index_t(g.H) * g.W, out_plane = index_t(g.OH) * g.OW;
  const int k_vol = g.KH * g.KW;
  for (int n = 0; n < p.n; ++n)
    for (int c = 0; c < p.cin; ++c) {
      const index_t nc = index_t(n) * p.cin + c;
      plane<VT, KH, KW, S>(g, p.ep, x + nc * in_plane, w + index_t(c) * k_vol,
                           bias ? bias[c] : 0.0f,
                           residual ? residual + nc * out_plane : nullptr,
                           y + nc * out_plane);
      activate_rest(p.ep, y + nc * out_plane, out_plane);
    }
}

/// The interior output columns for reads of `overread` floats past the last
/// lane's input: ow * sw - pw >= 0 and ow * sw - pw + (KW - 1) * dw +
/// overread <= W - 1.
inline void interior_columns(Geom &g, int overread) {
  int a = (g.pw + g.sw - 1) / g.sw;
  const int last = g.W - 1 - overread - (g.KW - 1) * g.dw + g.pw;
  int b = last < 0 ? 0 : last / g.sw + 1;
  if (a > g.OW)
    a = g.OW;
  if (b > g.OW)
    b = g.OW;
  if (b < a)
    b = a;
  g.owA = a;
  g.owB = b;
}

/// The staged path when it applies (vectors of more than one lane), else
/// the input read in place, specialised for strides 1 and 2.
template <class VT, int KH, int KW>
inline void by_stride(const ConvParams &p, Geom &g, const float *x,
                      const float *w, const float *bias, const float *residual,
                      float *y) {
  if constexpr (VT::kLanes > 1) {
    Stage st;
    if (stage_layout<VT>(g, st)) {
      staged_planes<VT, KH, KW>(p, g, st, x, w, bias, residual, y);
      return;
    }
    if (g.sw == 1) {
      interior_columns(g, 0);
      planes<VT, KH, KW, 1>(p, g, x, w, bias, residual, y);
      return;
    }
    if (g.sw == 2) {
      interior_columns(g, kOverread<VT, 2>);
      planes<VT, KH, KW, 2>(p, g, x, w, bias, residual, y);
      return;
    }
  }
  interior_columns(g, 0);
  planes<VT, KH, KW, 0>(p, g, x, w, bias, residual, y);
}

/// The kernel over vector primitives VT (uk::Vec, or another struct with
/// the same members: the tests run emulated ones on any host).
template <class VT>
inline void depthwise_conv_vec(const ConvParams &p, const float *x,
                               const float *w, const float *bias,
                               const float *residual, float *y) {
  Geom g;
  g.H = p.in[1];
  g.W = p.in[2];
  g.OH = p.out[1];
  g.OW = p.out[2];
  g.KH = p.k[1];
  g.KW = p.k[2];
  g.sh = p.stride[1];
  g.sw = p.stride[2];
  g.ph = p.pad[1];
  g.pw = p.pad[2];
  g.dh = p.dil[1];
  g.dw = p.dil[2];
  if (g.KH == 3 && g.KW == 3)
    by_stride<VT, 3, 3>(p, g, x, w, bias, residual, y);
  else if constexpr (VT::kLanes > 1) {
    if (g.KH == 5 && g.KW == 5)
      by_stride<VT, 5, 5>(p, g, x, w, bias, residual, y);
    else
      by_stride<VT, 0, 0>(p, g, x, w, bias, residual, y);
  } else {
    by_stride<VT, 0, 0>(p, g, x, w, bias, residual, y);
  }
}

} // namespace depthwise_detail

/// y[n][c][out...] = act(bias[c] + sum over the kernel window of
/// w[c][0][k...] * x[n][c][in...] + residual[n][c][out...]) for a
/// convolution with groups == cin == cout; other convolutions (and 3-D
/// ones) go to conv().
inline void depthwise_conv(const ConvParams &p, const float *x, const float *w,
                           const float *bias, const float *residual, float *y) {
  if (p.groups != p.cin || p.cout != p.cin || p.in[0] != 1 || p.out[0] != 1 ||
      p.k[0] != 1) {
    conv(p, x, w, bias, residual, y);
    return;
  }
  depthwise_detail::depthwise_conv_vec<uk::Vec>(p, x, w, bias, residual, y);
}

} // namespace KILN_UK_NS
} // namespace kiln_rt

#undef KILN_DW_INLINE
