// Kiln runtime: max and average pooling over up to three spatial dims
// (PyTorch semantics: implicit -inf / zero padding, dilation for max,
// count_include_pad and divisor_override for average).
#pragma once

#include "../ukernels/isa.h"
#include "common.h"

#include <stdint.h>

namespace kiln_rt {

/// Shapes and hyper-parameters of a pooling; `planes` = batch * channels.
/// Spatial arrays are (depth, height, width), as in ConvParams.
struct PoolParams {
  int planes;
  int in[3], out[3], k[3], stride[3], pad[3], dil[3];
  int count_include_pad; ///< average only
  int divisor;           ///< average only; 0 = none (divisor_override)
};
static_assert(sizeof(PoolParams) == 4 * 21,
              "parameter structs hold 4-byte fields only");

/// Max pooling of the output at (od, oh, ow) of one plane: its value and
/// the flat offset of the maximum in the input plane (the first maximum, or
/// the last NaN, as PyTorch picks it).
inline void max_pool_point(const PoolParams &p, const float *xp, int od, int oh,
                           int ow, float *value, int32_t *index) {
  float m = -INFINITY;
  index_t best = -1;
  for (int kd = 0; kd < p.k[0]; ++kd) {
    const int id = od * p.stride[0] - p.pad[0] + kd * p.dil[0];
    if (id < 0 || id >= p.in[0])
      continue;
    for (int kh = 0; kh < p.k[1]; ++kh) {
      const int ih = oh * p.stride[1] - p.pad[1] + kh * p.dil[1];
      if (ih < 0 || ih >= p.in[1])
        continue;
      const float *xr = xp + (index_t(id) * p.in[1] + ih) * p.in[2];
      for (int kw = 0; kw < p.k[2]; ++kw) {
        const int iw = ow * p.stride[2] - p.pad[2] + kw * p.dil[2];
        if (iw < 0 || iw >= p.in[2])
          continue;
        const float v = xr[iw];
        if (v > m || v != v) {
          m = v;
          best = (index_t(id) * p.in[1] + ih) * p.in[2] + iw;
        }
      }
    }
  }
  *value = m;
  if (index) {
    // PyTorch's index when no value beats -inf: each window start moved by
    // the dilation until it is not negative.
    int s0 = od * p.stride[0] - p.pad[0], s1 = oh * p.stride[1] - p.pad[1],
        s2 = ow * p.stride[2] - p.pad[2];
    while (s0 < 0)
      s0 += p.dil[0];
    while (s1 < 0)
      s1 += p.dil[1];
    while (s2 < 0)
      s2 += p.dil[2];
    *index =
        int32_t(best >= 0 ? best : (index_t(s0) * p.in[1] + s1) * p.in[2] + s2);
  }
}

inline namespace KILN_UK_NS {
namespace pool_detail {

/// W floats (the ISA's vector width) as a GCC/Clang vector, and its lanes'
/// comparison masks.
template <int W> struct Lanes {
  typedef float F __attribute__((vector_size(4 * W)));
  typedef int32_t I __attribute__((vector_size(4 * W)));
};

/// 0, 1, .., N - 1 as a type (no C++ library in freestanding builds).
template <int... I> struct Seq {};
template <int N, int... I> struct MakeSeq : MakeSeq<N - 1, N - 1, I...> {};
template <int... I> struct MakeSeq<0, I...> { typedef Seq<I...> type; };

/// Columns 0, 2, .., 2 W - 2 from a = columns [0, W) and b = columns
/// [W - 1, 2 W - 1): the even lanes of a, then the odd lanes of b.
template <int W, int... I>
inline typename Lanes<W>::F even_columns(typename Lanes<W>::F a,
                                         typename Lanes<W>::F b, Seq<I...>) {
  return __builtin_shufflevector(a, b, (I < W / 2 ? 2 * I : 2 * I + 1)...);
}

/// Max pooling of the W outputs (od, oh, ow0 .. ow0 + W) of one plane at
/// width stride SW, as W lanes of max_pool_point (the same comparisons in
/// the same order). SW = 1 loads W columns and SW = 2 two overlapping
/// vectors of W, keeping columns 0, 2, .. (their windows inside the input
/// row); SW = 0 gathers
/// the lanes at any stride (windows inside the row); SW = -1 gathers them at
/// any stride with the columns outside the row as -inf (the padding: the tiles
/// at the row's edges).
template <int W, int SW>
inline void max_pool_tile(const PoolParams &p, const float *xp, int od, int oh,
                          int ow0, float *y) {
  typedef typename Lanes<W>::F F;
  typedef typename Lanes<W>::I I;
  const int sw = SW > 0 ? SW : p.stride[2];
  F m;
  for (int l = 0; l < W; ++l)
    m[l] = -INFINITY;
  for (int kd = 0; kd < p.k[0]; ++kd) {
    const int id = od * p.stride[0] - p.pad[0] + kd * p.dil[0];
    if (id < 0 || id >= p.in[0])
      continue;
    for (int kh = 0; kh < p.k[1]; ++kh) {
      const int ih = oh * p.stride[1] - p.pad[1] + kh * p.dil[1];
      if (ih < 0 || ih >= p.in[1])
        continue;
      const float *xr = xp + (index_t(id) * p.in[1] + ih) * p.in[2];
      for (int kw = 0; kw < p.k[2]; ++kw) {
        const int iw0 = ow0 * sw - p.pad[2] + kw * p.dil[2];
        const float *s = xr + (SW >= 0 ? iw0 : 0);
        F v;
        if constexpr (SW == 1) {
          __builtin_memcpy(&v, s, sizeof v);
        } else if constexpr (SW == 2) {
          // Columns [0, W) and [W - 1, 2 W - 1): the last needed is 2 W - 2.
          F a, b;
          __builtin_memcpy(&a, s, sizeof a);
          __builtin_memcpy(&b, s + W - 1, sizeof b);
          v = even_columns<W>(a, b, typename MakeSeq<W>::type());
        } else if constexpr (SW == 0) {
          for (int l = 0; l < W; ++l)
            v[l] = s[l * sw];
        } else {
          for (int l = 0; l < W; ++l) {
            const int iw = iw0 + l * sw;
            v[l] = iw >= 0 && iw < p.in[2] ? xr[iw] : -INFINITY;
          }
        }
        const I take = (v > m) | (v != v);
        m = (F)(((I)v & take) | ((I)m & ~take));
      }
    }
  }
  __builtin_memcpy(y + ow0, &m, sizeof m);
}

/// The outputs [b, e) of one output row, W at a time where their windows
/// are inside the row (a last tile overlapping the one before it: its
/// outputs computed again, to the same values); a tile that is not goes 4
/// at a time the same way, 4-lane tiles over the padding gather with
/// bounds, and a row of fewer than 4 outputs goes one by one.
template <int W, int SW>
inline void max_pool_span(const PoolParams &p, const float *xp, int od, int oh,
                          float *yr, int b, int e) {
  for (int ow0 = b; ow0 < e; ow0 += W) {
    const int t0 = e - b >= W && ow0 + W > e ? e - W : ow0;
    const int lo = t0 * p.stride[2] - p.pad[2];
    const int hi =
        (t0 + W - 1) * p.stride[2] - p.pad[2] + (p.k[2] - 1) * p.dil[2];
    const int end = ow0 + W < e ? ow0 + W : e;
    if (t0 + W <= e && lo >= 0 && hi < p.in[2])
      max_pool_tile<W, SW>(p, xp, od, oh, t0, yr);
    else if constexpr (W > 4)
      max_pool_span<4, SW>(p, xp, od, oh, yr, ow0, end);
    else if (t0 + W <= e)
      max_pool_tile<4, -1>(p, xp, od, oh, t0, yr);
    else
      for (int ow = ow0; ow < end; ++ow)
        max_pool_point(p, xp, od, oh, ow, yr + ow, nullptr);
  }
}

} // namespace pool_detail

/// Max pooling; a NaN in a window propagates, as in PyTorch. `indices`
/// (optional) receives the flat offset of each maximum within its input
/// plane (see max_pool_point). Without indices, the outputs go in tiles of
/// the ISA's vector width (4 lanes for the portable 4-float vector; one
/// output at a time on one-lane ISAs).
inline void max_pool(const PoolParams &p, const float *x, float *y,
                     int32_t *indices) {
  namespace d = pool_detail;
  constexpr int W = uk::Vec::kLanes >= 4 ? uk::Vec::kLanes : 4;
  const index_t in_plane = index_t(p.in[0]) * p.in[1] * p.in[2];
  const index_t out_plane = index_t(p.out[0]) * p.out[1] * p.out[2];
  const int OW = p.out[2];
  for (int c = 0; c < p.planes; ++c) {
    const float *xp = x + c * in_plane;
    float *yp = y + c * out_plane;
    int32_t *ip = indices ? indices + c * out_plane : nullptr;
    for (int od = 0; od < p.out[0]; ++od)
      for (int oh = 0; oh < p.out[1]; ++oh) {
        const index_t row = (index_t(od) * p.out[1] + oh) * OW;
        // With indices, and on one-lane ISAs (a Cortex-M's FPU: tiles
        // would save little there and cost 2.7 KB of flash), one output at
        // a time.
        if (ip || uk::Vec::kLanes == 1) {
          for (int ow = 0; ow < OW; ++ow)
            max_pool_point(p, xp, od, oh, ow, yp + row + ow,
                           ip ? ip + row + ow : nullptr);
        } else if (p.stride[2] == 1) {
          d::max_pool_span<W, 1>(p, xp, od, oh, yp + row, 0, OW);
        } else if (p.stride[2] == 2) {
          d::max_pool_span<W, 2>(p, xp, od, oh, yp + row, 0, OW);
        } else {
          d::max_pool_span<W, 0>(p, xp, od, oh, yp + row, 0, OW);
        }
      }
  }
}

} // namespace KILN_UK_NS

/// Average pooling with PyTorch's divisor rules.
inline void avg_pool(const PoolParams &p, const float *x, float *y) {
  const index_t in_plane = index_t(p.in[0]) * p.in[1] * p.in[2];
  const index_t out_plane = index_t(p.out[0]) * p.out[1] * p.out[2];
  for (int c = 0; c < p.planes; ++c) {
    const float *xp = x + c * in_plane;
    float *yp = y + c * out_plane;
    for (int od = 0; od < p.out[0]; ++od)
      for (int oh = 0; oh < p.out[1]; ++oh)
        for (int ow = 0; ow < p.out[2]; ++ow) {
          int lo[3] = {od * p.stride[0] - p.pad[0], oh * p.stride[1] - p.pad[1],
                       ow * p.stride[2] - p.pad[2]};
          int hi[3], padded = 1, inside = 1;
          for (int d = 0; d < 3; ++d) {
            hi[d] = lo[d] + p.k[d];
            if (hi[d] > p.in[d] + p.pad[d])
              hi[d] = p.in[d] + p.pad[d];
            padded *= hi[d] - lo[d];
            if (lo[d] < 0)
              lo[d] = 0;
            if (hi[d] > p.in[d])
              hi[d] = p.in[d];
            inside *= hi[d] - lo[d];
          }
          float s = 0.0f;
          for (int id = lo[0]; id < hi[0]; ++id)
            for (int ih = lo[1]; ih < hi[1]; ++ih)
              for (int iw = lo[2]; iw < hi[2]; ++iw)
                s += xp[(index_t(id) * p.in[1] + ih) * p.in[2] + iw];
          const int div =
              p.divisor ? p.divisor : (p.count_include_pad ? padded : inside);
          yp[(index_t(od) * p.out[1] + oh) * p.out[2] + ow] = s / float(div);
        }
  }
}

} // namespace kiln_rt
