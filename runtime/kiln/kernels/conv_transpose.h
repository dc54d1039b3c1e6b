// Kiln runtime: transposed convolution (1-D, 2-D, 3-D) by scattering each
// input element through the kernel, with groups, stride, padding,
// output_padding (through the output size), dilation and optional bias.
#pragma once

#include "common.h"
#include "conv.h"

namespace kiln_rt {

/// Same fields as ConvParams; the weight is [cin][cout/groups][k...]. The
/// scatter accumulates into the output plane; the residual and the
/// epilogue are applied in a last pass over the plane.
inline void conv_transpose(const ConvParams &p, const float *x, const float *w,
                           const float *bias, const float *residual, float *y) {
  const int cin_g = p.cin / p.groups, cout_g = p.cout / p.groups;
  const index_t in_plane = index_t(p.in[0]) * p.in[1] * p.in[2];
  const index_t out_plane = index_t(p.out[0]) * p.out[1] * p.out[2];
  const index_t k_vol = index_t(p.k[0]) * p.k[1] * p.k[2];
  for (int n = 0; n < p.n; ++n) {
    for (int oc = 0; oc < p.cout; ++oc) {
      float *yp = y + (index_t(n) * p.cout + oc) * out_plane;
      const float b = bias ? bias[oc] : 0.0f;
      for (index_t i = 0; i < out_plane; ++i)
        yp[i] = b;
      const int g = oc / cout_g, ocg = oc % cout_g;
      for (int icg = 0; icg < cin_g; ++icg) {
        const int ic = g * cin_g + icg;
        const float *xp = x + (index_t(n) * p.cin + ic) * in_plane;
        const float *wp = w + (index_t(ic) * cout_g + ocg) * k_vol;
        for (int kd = 0; kd < p.k[0]; ++kd)
          for (int kh = 0; kh < p.k[1]; ++kh)
            for (int kw = 0; kw < p.k[2]; ++kw) {
              const float wv = wp[(index_t(kd) * p.k[1] + kh) * p.k[2] + kw];
              for (int id = 0; id < p.in[0]; ++id) {
                const int od = id * p.stride[0] - p.pad[0] + kd * p.dil[0];
                if (od < 0 || od >= p.out[0])
                  continue;
                for (int ih = 0; ih < p.in[1]; ++ih) {
                  const int oh = ih * p.stride[1] - p.pad[1] + kh * p.dil[1];
                  if (oh < 0 || oh >= p.out[1])
                    continue;
                  const float *xr = xp + (index_t(id) * p.in[1] + ih) * p.in[2];
                  float *yr = yp + (index_t(od) * p.out[1] + oh) * p.out[2];
                  for (int iw = 0; iw < p.in[2]; ++iw) {
                    const int ow = iw * p.stride[2] - p.pad[2] + kw * p.dil[2];
                    if (ow >= 0 && ow < p.out[2])
                      yr[ow] += wv * xr[iw];
                  }
                }
              }
            }
      }
      if (residual) {
        const float *rp = residual + (index_t(n) * p.cout + oc) * out_plane;
        for (index_t i = 0; i < out_plane; ++i)
          yp[i] += rp[i];
      }
      activate_span(p.ep, yp, out_plane);
    }
  }
}

} // namespace kiln_rt
