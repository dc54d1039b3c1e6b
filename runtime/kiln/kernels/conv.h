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

/// Width of the tile of outputs accumulated together (at most 64, the
/// store_epilogue buffer).
constexpr int kConvTile = 16;

/// y[n][cout][out...] = act(bias + sum over the group's input channels and
/// the kernel window of w[cout][cin/groups][k...] * x[n][cin][in...]
/// + residual[n][cout][out...]).
inline void conv(const ConvParams &p, const float *x, const float *w,
                 const float *bias, const float *residual, float *y) {
  const int cin_g = p.cin / p.groups, cout_g = p.cout / p.groups;
  const index_t in_plane = index_t(p.in[0]) * p.in[1] * p.in[2];
  const index_t out_plane = index_t(p.out[0]) * p.out[1] * p.out[2];
  const index_t k_vol = index_t(p.k[0]) * p.k[1] * p.k[2];
  const int sw = p.stride[2], W = p.in[2];
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
          const index_t row = yoff + (index_t(od) * p.out[1] + oh) * p.out[2];
          for (int ow0 = 0; ow0 < p.out[2]; ow0 += kConvTile) {
            const int nt =
                p.out[2] - ow0 < kConvTile ? p.out[2] - ow0 : kConvTile;
            float acc[kConvTile];
            for (int t = 0; t < kConvTile; ++t)
              acc[t] = b;
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
                  const float *xr = xp + (index_t(id) * p.in[1] + ih) * W;
                  const float *wk = wp + (index_t(kd) * p.k[1] + kh) * p.k[2];
                  for (int kw = 0; kw < p.k[2]; ++kw) {
                    const float wv = wk[kw];
                    const int iw0 = ow0 * sw - p.pad[2] + kw * p.dil[2];
                    if (nt == kConvTile && iw0 >= 0 &&
                        iw0 + (kConvTile - 1) * sw < W) {
                      // Full tile inside the row: a fixed-length loop the
                      // compiler vectorises.
                      const float *xs = xr + iw0;
                      if (sw == 1)
                        for (int t = 0; t < kConvTile; ++t)
                          acc[t] += wv * xs[t];
                      else
                        for (int t = 0; t < kConvTile; ++t)
                          acc[t] += wv * xs[t * sw];
                    } else {
                      for (int t = 0; t < nt; ++t) {
                        const int iw = iw0 + t * sw;
                        if (iw >= 0 && iw < W)
                          acc[t] += wv * xr[iw];
                      }
                    }
                  }
                }
              }
            }
            const float *rr = residual ? residual + row + ow0 : nullptr;
            if (nt == kConvTile)
              store_epilogue<kConvTile>(p.ep, acc, rr, y + row + ow0);
            else
              store_epilogue(p.ep, acc, rr, y + row + ow0, nt);
          }
        }
    }
}

} // namespace kiln_rt
