// Kiln runtime: direct convolution (1-D, 2-D and 3-D as one kernel over up to
// three spatial dims, unused leading dims of size 1), with groups, stride,
// zero padding, dilation, optional bias, an optional residual added to the
// result and an activation epilogue. Output-stationary: each output is
// accumulated in registers and written once, epilogue applied.
#pragma once

#include "common.h"

namespace kiln_rt {

/// Shapes and hyper-parameters of a convolution. Spatial arrays are
/// (depth, height, width); a 2-D convolution has depth 1, kernel 1, stride 1,
/// padding 0, dilation 1 in the first slot.
struct ConvParams {
  int n, cin, cout, groups;
  int in[3], out[3], k[3], stride[3], pad[3], dil[3];
  Epilogue ep;
};
static_assert(sizeof(ConvParams) == 4 * 25,
              "parameter structs hold 4-byte fields only");

/// Calls f(xr, wv, iw0) for each tap of the kernel window of the outputs
/// at (od, oh, ow0...) whose input depth and row are inside the input, in
/// the kernel's summation order (input channel of the group, kernel depth,
/// height, width): xr is the input row, wv the weight, iw0 the input column
/// of output ow0.
template <typename F>
inline void conv_taps(const ConvParams &p, const float *xg, const float *wo,
                      int od, int oh, int ow0, F &&f) {
  const index_t in_plane = index_t(p.in[0]) * p.in[1] * p.in[2];
  const index_t k_vol = index_t(p.k[0]) * p.k[1] * p.k[2];
  const int cin_g = p.cin / p.groups;
  for (int icg = 0; icg < cin_g; ++icg) {
    const float *xp = xg + index_t(icg) * in_plane;
    const float *wp = wo + index_t(icg) * k_vol;
    for (int kd = 0; kd < p.k[0]; ++kd) {
      const int id = od * p.stride[0] - p.pad[0] + kd * p.dil[0];
      if (id < 0 || id >= p.in[0])
        continue;
      for (int kh = 0; kh < p.k[1]; ++kh) {
        const int ih = oh * p.stride[1] - p.pad[1] + kh * p.dil[1];
        if (ih < 0 || ih >= p.in[1])
          continue;
        const float *xr = xp + (index_t(id) * p.in[1] + ih) * p.in[2];
        const float *wk = wp + (index_t(kd) * p.k[1] + kh) * p.k[2];
        for (int kw = 0; kw < p.k[2]; ++kw)
          f(xr, wk[kw], ow0 * p.stride[2] - p.pad[2] + kw * p.dil[2]);
      }
    }
  }
}

/// The T (a multiple of 4) outputs y[ow0 .. ow0 + T) of one output row
/// accumulated together, T / 4 vectors of partial sums: each output is
/// bias + the sum of its taps in conv_taps order, the taps in the padding
/// skipped. The loops over the tile are unrolled (GCC's pragma, which clang
/// honours too) so that the partial sums stay in registers whatever the
/// compiler's unrolling heuristics decide.
template <int T>
inline void conv_tile(const ConvParams &p, const float *xg, const float *wo,
                      float b, int od, int oh, int ow0, const float *residual,
                      float *y) {
  constexpr int V = T / 4;
  const int sw = p.stride[2], W = p.in[2];
  f32x4 acc[V];
#pragma GCC unroll 4
  for (int v = 0; v < V; ++v)
    acc[v] = splat4(b);
  conv_taps(p, xg, wo, od, oh, ow0, [&](const float *xr, float wv, int iw0) {
    if (iw0 >= 0 && iw0 + (T - 1) * sw < W) {
      // The whole tile inside the row.
      const float *xs = xr + iw0;
      const f32x4 wb = splat4(wv);
      if (sw == 1) {
#pragma GCC unroll 4
        for (int v = 0; v < V; ++v)
          acc[v] += wb * load4(xs + 4 * v);
      } else {
#pragma GCC unroll 4
        for (int v = 0; v < V; ++v) {
          const float *s = xs + 4 * v * sw;
          acc[v] += wb * f32x4{s[0], s[sw], s[2 * sw], s[3 * sw]};
        }
      }
    } else {
#pragma GCC unroll 16
      for (int t = 0; t < T; ++t) {
        const int iw = iw0 + t * sw;
        if (iw >= 0 && iw < W)
          acc[t / 4][t % 4] += wv * xr[iw];
      }
    }
  });
  float out[T];
  __builtin_memcpy(out, acc, sizeof out);
  store_epilogue<T>(p.ep, out, residual ? residual + ow0 : nullptr, y + ow0);
}

/// Output y[ow] of one output row alone (rows narrower than 4).
inline void conv_point(const ConvParams &p, const float *xg, const float *wo,
                       float b, int od, int oh, int ow, const float *residual,
                       float *y) {
  const int W = p.in[2];
  float acc = b;
  conv_taps(p, xg, wo, od, oh, ow, [&](const float *xr, float wv, int iw) {
    if (iw >= 0 && iw < W)
      acc += wv * xr[iw];
  });
  store_epilogue<1>(p.ep, &acc, residual ? residual + ow : nullptr, y + ow);
}

/// y[n][cout][out...] = act(bias + sum over the group's input channels and
/// the kernel window of w[cout][cin/groups][k...] * x[n][cin][in...]
/// + residual[n][cout][out...]).
inline void conv(const ConvParams &p, const float *x, const float *w,
                 const float *bias, const float *residual, float *y) {
  const int cin_g = p.cin / p.groups, cout_g = p.cout / p.groups;
  const index_t in_plane = index_t(p.in[0]) * p.in[1] * p.in[2];
  const index_t out_plane = index_t(p.out[0]) * p.out[1] * p.out[2];
  const index_t k_vol = index_t(p.k[0]) * p.k[1] * p.k[2];
  const int OW = p.out[2];
  for (int n = 0; n < p.n; ++n)
    for (int oc = 0; oc < p.cout; ++oc) {
      const int g = oc / cout_g;
      const index_t yoff = (index_t(n) * p.cout + oc) * out_plane;
      const float b = bias ? bias[oc] : 0.0f;
      const float *xg =
          x + (index_t(n) * p.cin + index_t(g) * cin_g) * in_plane;
      const float *wo = w + index_t(oc) * cin_g * k_vol;
      for (int od = 0; od < p.out[0]; ++od)
        for (int oh = 0; oh < p.out[1]; ++oh) {
          const index_t row = yoff + (index_t(od) * p.out[1] + oh) * OW;
          const float *rr = residual ? residual + row : nullptr;
          float *yr = y + row;
          if (OW < 4) {
            for (int ow = 0; ow < OW; ++ow)
              conv_point(p, xg, wo, b, od, oh, ow, rr, yr);
            continue;
          }
          // Tiles of 16, 8 (with SIMD) and 4; a last tile of 4 that overlaps
          // the one before it (its outputs computed again, to the same
          // values).
          int ow0 = 0;
          if constexpr (kSimd) {
            for (; ow0 + 16 <= OW; ow0 += 16)
              conv_tile<16>(p, xg, wo, b, od, oh, ow0, rr, yr);
            if (ow0 + 8 <= OW) {
              conv_tile<8>(p, xg, wo, b, od, oh, ow0, rr, yr);
              ow0 += 8;
            }
          }
          for (; ow0 + 4 <= OW; ow0 += 4) {
            conv_tile<4>(p, xg, wo, b, od, oh, ow0, rr, yr);
          }
          if (ow0 < OW)
            conv_tile<4>(p, xg, wo, b, od, oh, OW - 4, rr, yr);
        }
    }
}

} // namespace kiln_rt
