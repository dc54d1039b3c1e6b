// Kiln runtime: adaptive average and max pooling (PyTorch's windows:
// start = floor(i * in / out), end = ceil((i + 1) * in / out)).
#pragma once

#include "../ukernels/isa.h"
#include "common.h"

#include <stdint.h>

namespace kiln_rt {

/// `planes` = batch * channels; spatial arrays as in ConvParams.
struct AdaptivePoolParams {
  int planes;
  int in[3], out[3];
};
static_assert(sizeof(AdaptivePoolParams) == 4 * 7,
              "parameter structs hold 4-byte fields only");

inline int adaptive_start(int i, int in, int out) {
  return int((long long)i * in / out);
}
inline int adaptive_end(int i, int in, int out) {
  return int(((long long)(i + 1) * in + out - 1) / out);
}

/// Adaptive average (`is_max` = 0) or max pooling; `indices` (optional,
/// max only) receives flat offsets within each input plane.
inline void adaptive_pool(const AdaptivePoolParams &p, int is_max,
                          const float *x, float *y, int32_t *indices) {
  const index_t in_plane = index_t(p.in[0]) * p.in[1] * p.in[2];
  const index_t out_plane = index_t(p.out[0]) * p.out[1] * p.out[2];
  for (int c = 0; c < p.planes; ++c) {
    const float *xp = x + c * in_plane;
    for (int od = 0; od < p.out[0]; ++od)
      for (int oh = 0; oh < p.out[1]; ++oh)
        for (int ow = 0; ow < p.out[2]; ++ow) {
          const int d0 = adaptive_start(od, p.in[0], p.out[0]),
                    d1 = adaptive_end(od, p.in[0], p.out[0]);
          const int h0 = adaptive_start(oh, p.in[1], p.out[1]),
                    h1 = adaptive_end(oh, p.in[1], p.out[1]);
          const int w0 = adaptive_start(ow, p.in[2], p.out[2]),
                    w1 = adaptive_end(ow, p.in[2], p.out[2]);
          float acc = is_max ? -INFINITY : 0.0f;
          index_t best = (index_t(d0) * p.in[1] + h0) * p.in[2] + w0;
          for (int d = d0; d < d1; ++d)
            for (int h = h0; h < h1; ++h)
              for (int w = w0; w < w1; ++w) {
                const index_t at = (index_t(d) * p.in[1] + h) * p.in[2] + w;
                const float v = xp[at];
                if (!is_max) {
                  acc += v;
                } else if (v > acc || v != v) {
                  acc = v;
                  best = at;
                }
              }
          const index_t o =
              c * out_plane + (index_t(od) * p.out[1] + oh) * p.out[2] + ow;
          y[o] = is_max ? acc : acc / float((d1 - d0) * (h1 - h0) * (w1 - w0));
          if (indices)
            indices[o] = int32_t(best);
        }
  }
}

inline namespace KILN_UK_NS {

/// The sum of x[0, n), in 4 vectors of partial sums over the ISA's Vec
/// (independent adds, not one serial chain), then in order.
inline float plane_sum(const float *x, index_t n) {
  typedef uk::Vec VT;
  constexpr int L = VT::kLanes;
  VT::V a0 = VT::zero(), a1 = VT::zero(), a2 = VT::zero(), a3 = VT::zero();
  index_t i = 0;
  for (; i + 4 * L <= n; i += 4 * L) {
    a0 = VT::add(a0, VT::load(x + i));
    a1 = VT::add(a1, VT::load(x + i + L));
    a2 = VT::add(a2, VT::load(x + i + 2 * L));
    a3 = VT::add(a3, VT::load(x + i + 3 * L));
  }
  for (; i + L <= n; i += L)
    a0 = VT::add(a0, VT::load(x + i));
  float s = VT::reduce_add(VT::add(VT::add(a0, a1), VT::add(a2, a3)));
  for (; i < n; ++i)
    s += x[i];
  return s;
}

/// Entry points with the kernel-call signature; a global average (output
/// 1x1x1, squeeze-and-excitation's) sums each plane with plane_sum().
inline void adaptive_avg_pool(const AdaptivePoolParams &p, const float *x,
                              float *y) {
  if (p.out[0] == 1 && p.out[1] == 1 && p.out[2] == 1) {
    const index_t n = index_t(p.in[0]) * p.in[1] * p.in[2];
    for (int c = 0; c < p.planes; ++c)
      y[c] = plane_sum(x + c * n, n) / float(n);
    return;
  }
  adaptive_pool(p, 0, x, y, nullptr);
}

} // namespace KILN_UK_NS

inline void adaptive_max_pool(const AdaptivePoolParams &p, const float *x,
                              float *y, int32_t *indices) {
  adaptive_pool(p, 1, x, y, indices);
}

} // namespace kiln_rt
