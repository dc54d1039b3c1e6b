// The reference convolution: plain loops, double accumulation, PyTorch's
// weight layout. Header-only and free of the rest of the IR, so that the
// kernel tests can use it on any target (including under qemu).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace kiln::ops {

/// Shapes and hyper-parameters of a conv-like op, spatial values in the
/// (depth, height, width) slots of the runtime kernels.
struct ConvGeom {
  std::array<int64_t, 3> in, out, k, s, p, d;
  int64_t n, cin, cout, groups;
};

/// y = conv(x, w) + b for weights `w` in PyTorch's [Cout, Cin/groups, k...]
/// layout (`b` may be null).
inline void referenceConv(const ConvGeom &g, const float *x, const float *w,
                          const float *b, float *y) {
  int64_t cinG = g.cin / g.groups, coutG = g.cout / g.groups;
  for (int64_t n = 0; n < g.n; ++n)
    for (int64_t oc = 0; oc < g.cout; ++oc)
      for (int64_t od = 0; od < g.out[0]; ++od)
        for (int64_t oh = 0; oh < g.out[1]; ++oh)
          for (int64_t ow = 0; ow < g.out[2]; ++ow) {
            double acc = b ? b[oc] : 0.0;
            for (int64_t icg = 0; icg < cinG; ++icg) {
              int64_t ic = oc / coutG * cinG + icg;
              for (int64_t kd = 0; kd < g.k[0]; ++kd)
                for (int64_t kh = 0; kh < g.k[1]; ++kh)
                  for (int64_t kw = 0; kw < g.k[2]; ++kw) {
                    int64_t id = od * g.s[0] - g.p[0] + kd * g.d[0];
                    int64_t ih = oh * g.s[1] - g.p[1] + kh * g.d[1];
                    int64_t iw = ow * g.s[2] - g.p[2] + kw * g.d[2];
                    if (id < 0 || id >= g.in[0] || ih < 0 || ih >= g.in[1] ||
                        iw < 0 || iw >= g.in[2])
                      continue;
                    double xv =
                        x[(((n * g.cin + ic) * g.in[0] + id) * g.in[1] + ih) *
                              g.in[2] +
                          iw];
                    double wv =
                        w[(((oc * cinG + icg) * g.k[0] + kd) * g.k[1] + kh) *
                              g.k[2] +
                          kw];
                    acc += xv * wv;
                  }
            }
            y[(((n * g.cout + oc) * g.out[0] + od) * g.out[1] + oh) * g.out[2] +
              ow] = float(acc);
          }
}

/// y = conv_transpose(x, w) + b for weights `w` in PyTorch's [Cin,
/// Cout/groups, k...] layout (`b` may be null); `g.p` are the paddings.
inline void referenceConvTranspose(const ConvGeom &g, const float *x,
                                   const float *w, const float *b, float *y) {
  int64_t cinG = g.cin / g.groups, coutG = g.cout / g.groups;
  int64_t outPlane = g.out[0] * g.out[1] * g.out[2];
  std::vector<double> acc(std::size_t(g.n * g.cout * outPlane));
  for (int64_t n = 0; n < g.n; ++n)
    for (int64_t oc = 0; oc < g.cout; ++oc)
      for (int64_t i = 0; i < outPlane; ++i)
        acc[(n * g.cout + oc) * outPlane + i] = b ? b[oc] : 0;
  for (int64_t n = 0; n < g.n; ++n)
    for (int64_t ic = 0; ic < g.cin; ++ic)
      for (int64_t id = 0; id < g.in[0]; ++id)
        for (int64_t ih = 0; ih < g.in[1]; ++ih)
          for (int64_t iw = 0; iw < g.in[2]; ++iw) {
            double xv =
                x[(((n * g.cin + ic) * g.in[0] + id) * g.in[1] + ih) * g.in[2] +
                  iw];
            for (int64_t ocg = 0; ocg < coutG; ++ocg) {
              int64_t oc = ic / cinG * coutG + ocg;
              for (int64_t kd = 0; kd < g.k[0]; ++kd)
                for (int64_t kh = 0; kh < g.k[1]; ++kh)
                  for (int64_t kw = 0; kw < g.k[2]; ++kw) {
                    int64_t od = id * g.s[0] - g.p[0] + kd * g.d[0];
                    int64_t oh = ih * g.s[1] - g.p[1] + kh * g.d[1];
                    int64_t ow = iw * g.s[2] - g.p[2] + kw * g.d[2];
                    if (od < 0 || od >= g.out[0] || oh < 0 || oh >= g.out[1] ||
                        ow < 0 || ow >= g.out[2])
                      continue;
                    double wv =
                        w[(((ic * coutG + ocg) * g.k[0] + kd) * g.k[1] + kh) *
                              g.k[2] +
                          kw];
                    acc[(n * g.cout + oc) * outPlane +
                        (od * g.out[1] + oh) * g.out[2] + ow] += xv * wv;
                  }
            }
          }
  for (std::size_t i = 0; i < acc.size(); ++i)
    y[i] = float(acc[i]);
}

} // namespace kiln::ops
