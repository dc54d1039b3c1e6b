// Kiln runtime: max and average pooling over up to three spatial dims
// (PyTorch semantics: implicit -inf / zero padding, dilation for max,
// count_include_pad and divisor_override for average).
#pragma once

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

/// Max pooling of the four outputs (od, oh, ow0 .. ow0 + 4) of one plane,
/// whose windows are inside the input along the width, as four lanes of
/// max_pool_point (the same comparisons in the same order).
inline void max_pool_tile4(const PoolParams &p, const float *xp, int od, int oh,
                           int ow0, float *y) {
  typedef int i32x4 __attribute__((vector_size(16)));
  const int sw = p.stride[2];
  f32x4 m = splat4(-INFINITY);
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
        const float *s = xr + ow0 * sw - p.pad[2] + kw * p.dil[2];
        const f32x4 v = {s[0], s[sw], s[2 * sw], s[3 * sw]};
        const i32x4 take = (v > m) | (v != v);
        m = (f32x4)(((i32x4)v & take) | ((i32x4)m & ~take));
      }
    }
  }
  __builtin_memcpy(y + ow0, &m, sizeof m);
}

/// Max pooling; a NaN in a window propagates, as in PyTorch. `indices`
/// (optional) receives the flat offset of each maximum within its input
/// plane (see max_pool_point).
inline void max_pool(const PoolParams &p, const float *x, float *y,
                     int32_t *indices) {
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
        // Without indices, tiles of four outputs whose windows are inside
        // the row (a last one overlapping the tile before it: its outputs
        // computed again, to the same values); the others one by one.
        for (int ow0 = 0; ow0 < OW; ow0 += 4) {
          const int t0 = !ip && OW >= 4 && ow0 + 4 > OW ? OW - 4 : ow0;
          const int lo = t0 * p.stride[2] - p.pad[2];
          const int hi =
              (t0 + 3) * p.stride[2] - p.pad[2] + (p.k[2] - 1) * p.dil[2];
          if (!ip && t0 + 4 <= OW && lo >= 0 && hi < p.in[2]) {
            max_pool_tile4(p, xp, od, oh, t0, yp + row);
            continue;
          }
          for (int ow = ow0; ow < ow0 + 4 && ow < OW; ++ow)
            max_pool_point(p, xp, od, oh, ow, yp + row + ow,
                           ip ? ip + row + ow : nullptr);
        }
      }
  }
}

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
