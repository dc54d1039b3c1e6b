// Kiln runtime: Upsample / interpolate, nearest (1 to 3 spatial dims) and
// bilinear (2 spatial dims), with PyTorch 1.13's source coordinates.
#pragma once

#include "common.h"

namespace kiln_rt {

/// Nearest: [planes][in...] -> [planes][out...], spatial sizes right-aligned
/// in three (depth, height, width) slots (1 in the unused ones). `scale` is
/// PyTorch's float step per slot: float(1.0 / scale_factor) when a scale
/// factor was given, float(in) / float(out) otherwise. `same_or_double`: a
/// dim whose size is unchanged is copied and one whose size doubles takes
/// dst / 2, whatever the scale (PyTorch 1.13 does so for 2 and 3 spatial
/// dims when the input has one channel, where its channels-last kernel
/// runs).
struct UpsampleNearestParams {
  int planes;
  int in[3], out[3];
  float scale[3];
  int same_or_double;
};
static_assert(sizeof(UpsampleNearestParams) == 4 * 11,
              "parameter structs hold 4-byte fields only");

/// PyTorch's nearest source index: min(floor(float(dst) * scale), in - 1),
/// the product rounded to float (dst * scale >= 0, so truncation floors).
inline int nearest_source(int dst, float scale, int in, int out,
                          int sameOrDouble) {
  if (sameOrDouble && out == in)
    return dst;
  if (sameOrDouble && out == 2 * in)
    return dst >> 1;
  const float f = float(dst) * scale;
  const int s = int(f);
  return s < in - 1 ? s : in - 1;
}

inline void upsample_nearest(const UpsampleNearestParams &p, const float *x,
                             float *y) {
  const index_t inPlane = index_t(p.in[0]) * p.in[1] * p.in[2];
  for (int c = 0; c < p.planes; ++c) {
    const float *xc = x + index_t(c) * inPlane;
    for (int od = 0; od < p.out[0]; ++od) {
      const int id =
          nearest_source(od, p.scale[0], p.in[0], p.out[0], p.same_or_double);
      for (int oh = 0; oh < p.out[1]; ++oh) {
        const int ih =
            nearest_source(oh, p.scale[1], p.in[1], p.out[1], p.same_or_double);
        const float *row = xc + (index_t(id) * p.in[1] + ih) * p.in[2];
        for (int ow = 0; ow < p.out[2]; ++ow)
          y[ow] = row[nearest_source(ow, p.scale[2], p.in[2], p.out[2],
                                     p.same_or_double)];
        y += p.out[2];
      }
    }
  }
}

/// Bilinear: [planes][in_h][in_w] -> [planes][out_h][out_w]. `ratio` is
/// PyTorch's float scale per dim (height, width): with align_corners,
/// float(in - 1) / float(out - 1) (0 for one output); otherwise as
/// UpsampleNearestParams::scale. `corner_weights` selects the arithmetic of
/// PyTorch's channels-last kernel (which it runs when the input has one
/// channel or one pixel): the four corner weights are float products of the
/// row and column weights, and the weighted sum is rounded once from
/// double. Otherwise the arithmetic is that of its generic kernel: two
/// interpolations along the width, then one along the height.
struct UpsampleBilinearParams {
  int planes;
  int in[2], out[2];
  float ratio[2];
  int align_corners;
  int corner_weights;
};
static_assert(sizeof(UpsampleBilinearParams) == 4 * 9,
              "parameter structs hold 4-byte fields only");

/// The two source indices and weights of output index `dst` along one dim,
/// as PyTorch 1.13's CPU kernel computes them: the source coordinate
/// ratio * dst (align_corners) or ratio * (dst + 0.5) - 0.5 clamped at 0,
/// evaluated in double from the float ratio; index0 its floor (at most
/// in - 1), index1 the next one (or the same at the edge), lambda1 the
/// fraction rounded to float, lambda0 = 1 - lambda1 in float. A dim whose
/// size does not change is copied (index dst, weights 1 and 0).
struct LinearTap {
  int i0, i1;
  float w0, w1;
};

inline LinearTap linear_tap(int dst, float ratio, int in, int out,
                            int alignCorners) {
  LinearTap t;
  if (in == out) {
    t.i0 = t.i1 = dst;
    t.w0 = 1.0f;
    t.w1 = 0.0f;
    return t;
  }
  double real = alignCorners ? double(ratio) * double(dst)
                             : double(ratio) * (double(dst) + 0.5) - 0.5;
  if (real < 0.0)
    real = 0.0;
  t.i0 = int(real) < in - 1 ? int(real) : in - 1;
  t.i1 = t.i0 + (t.i0 < in - 1 ? 1 : 0);
  double frac = real - double(t.i0);
  frac = frac < 0.0 ? 0.0 : (frac > 1.0 ? 1.0 : frac);
  t.w1 = float(frac);
  t.w0 = 1.0f - t.w1;
  return t;
}

/// a * wa + b * wb with one rounding for a * wa + (b * wb): the contraction
/// PyTorch's AVX2 build makes, so that results are bit-identical to it.
inline float lerp_pair(float a, float wa, float b, float wb) {
  return __builtin_fmaf(a, wa, b * wb);
}

inline void upsample_bilinear(const UpsampleBilinearParams &p, const float *x,
                              float *y) {
  // Width taps are computed for a block of output columns at a time and
  // reused by every row of every plane.
  constexpr int kBlock = 32;
  LinearTap cols[kBlock];
  const index_t inPlane = index_t(p.in[0]) * p.in[1];
  const index_t outPlane = index_t(p.out[0]) * p.out[1];
  for (int ow0 = 0; ow0 < p.out[1]; ow0 += kBlock) {
    const int n = p.out[1] - ow0 < kBlock ? p.out[1] - ow0 : kBlock;
    for (int j = 0; j < n; ++j)
      cols[j] =
          linear_tap(ow0 + j, p.ratio[1], p.in[1], p.out[1], p.align_corners);
    for (int oh = 0; oh < p.out[0]; ++oh) {
      const LinearTap r =
          linear_tap(oh, p.ratio[0], p.in[0], p.out[0], p.align_corners);
      for (int c = 0; c < p.planes; ++c) {
        const float *r0 = x + index_t(c) * inPlane + index_t(r.i0) * p.in[1];
        const float *r1 = x + index_t(c) * inPlane + index_t(r.i1) * p.in[1];
        float *yr = y + index_t(c) * outPlane + index_t(oh) * p.out[1] + ow0;
        if (p.corner_weights) {
          for (int j = 0; j < n; ++j) {
            const LinearTap &t = cols[j];
            const float w00 = r.w0 * t.w0, w01 = r.w0 * t.w1;
            const float w10 = r.w1 * t.w0, w11 = r.w1 * t.w1;
            yr[j] = float(double(w00) * r0[t.i0] + double(w01) * r0[t.i1] +
                          double(w10) * r1[t.i0] + double(w11) * r1[t.i1]);
          }
          continue;
        }
        for (int j = 0; j < n; ++j) {
          const LinearTap &t = cols[j];
          const float top = lerp_pair(r0[t.i0], t.w0, r0[t.i1], t.w1);
          const float bottom = lerp_pair(r1[t.i0], t.w0, r1[t.i1], t.w1);
          yr[j] = lerp_pair(top, r.w0, bottom, r.w1);
        }
      }
    }
  }
}

} // namespace kiln_rt
