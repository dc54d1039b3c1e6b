// Kiln runtime: direct convolution (1-D, 2-D and 3-D as one kernel over up to
// three spatial dims, unused leading dims of size 1), with groups, stride,
// zero padding, dilation, optional bias and an activation epilogue.
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
static_assert(sizeof(ConvParams) == 4 * 25, "parameter structs hold 4-byte fields only");

/// y[n][cout][out...] = bias + sum over the group's input channels and the
/// kernel window of w[cout][cin/groups][k...] * x[n][cin][in...].
inline void conv(const ConvParams &p, const float *x, const float *w,
                 const float *bias, float *y) {
  const int cin_g = p.cin / p.groups, cout_g = p.cout / p.groups;
  const index_t in_plane = index_t(p.in[0]) * p.in[1] * p.in[2];
  const index_t out_plane = index_t(p.out[0]) * p.out[1] * p.out[2];
  const index_t k_vol = index_t(p.k[0]) * p.k[1] * p.k[2];
  for (int n = 0; n < p.n; ++n) {
    for (int oc = 0; oc < p.cout; ++oc) {
      const int g = oc / cout_g;
      float *yp = y + (index_t(n) * p.cout + oc) * out_plane;
      const float b = bias ? bias[oc] : 0.0f;
      for (index_t i = 0; i < out_plane; ++i)
        yp[i] = b;
      for (int icg = 0; icg < cin_g; ++icg) {
        const int ic = g * cin_g + icg;
        const float *xp = x + (index_t(n) * p.cin + ic) * in_plane;
        const float *wp = w + (index_t(oc) * cin_g + icg) * k_vol;
        for (int kd = 0; kd < p.k[0]; ++kd)
          for (int kh = 0; kh < p.k[1]; ++kh)
            for (int kw = 0; kw < p.k[2]; ++kw) {
              const float wv = wp[(index_t(kd) * p.k[1] + kh) * p.k[2] + kw];
              // Output columns whose input column is inside the tensor.
              const int off_w = kw * p.dil[2] - p.pad[2];
              int ow_lo = 0, ow_hi = p.out[2];
              while (ow_lo < ow_hi && ow_lo * p.stride[2] + off_w < 0)
                ++ow_lo;
              while (ow_hi > ow_lo &&
                     (ow_hi - 1) * p.stride[2] + off_w >= p.in[2])
                --ow_hi;
              for (int od = 0; od < p.out[0]; ++od) {
                const int id = od * p.stride[0] - p.pad[0] + kd * p.dil[0];
                if (id < 0 || id >= p.in[0])
                  continue;
                for (int oh = 0; oh < p.out[1]; ++oh) {
                  const int ih = oh * p.stride[1] - p.pad[1] + kh * p.dil[1];
                  if (ih < 0 || ih >= p.in[1])
                    continue;
                  const float *xr = xp + (index_t(id) * p.in[1] + ih) * p.in[2];
                  float *yr = yp + (index_t(od) * p.out[1] + oh) * p.out[2];
                  if (p.stride[2] == 1) {
                    const float *xs = xr + off_w;
                    for (int ow = ow_lo; ow < ow_hi; ++ow)
                      yr[ow] += wv * xs[ow];
                  } else {
                    for (int ow = ow_lo; ow < ow_hi; ++ow)
                      yr[ow] += wv * xr[ow * p.stride[2] + off_w];
                  }
                }
              }
            }
      }
      activate_span(p.ep, yp, out_plane);
    }
  }
}

} // namespace kiln_rt
