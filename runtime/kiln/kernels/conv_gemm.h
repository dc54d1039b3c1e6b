// Kiln runtime: convolution (1 to 3 spatial dims, groups, stride, padding,
// dilation) as a GEMM per group, Y[oc][p] = sum_kk W[oc][kk] X[kk][p], on
// weights packed at compile time (packing.h) and the micro-kernel of
// ukernels/gemm.h. Loops, outermost first:
//   batch, group, strip of NR output positions, chunk of kc rows of K
//   (B: the strip's im2col rows packed into scratch, or read in place for a
//   pointwise conv), block of MR output channels (one micro-kernel call).
// Bias starts the first chunk; residual and activation end the last, in
// registers for ReLU / ReLU6 / none and on the stored tile otherwise.
#pragma once

#include "../ukernels/gemm.h"
#include "common.h"
#include "packing.h"

namespace kiln_rt {

/// A conv_gemm call: the conv's geometry (spatial dims in depth, height,
/// width slots; 1 where unused), the packed block height `mr`, and the k
/// chunk `kc` and strip width `nr` the compiler planned the scratch for
/// (the target ISA's tile width; a kernel with wider tiles takes shorter
/// chunks from the same scratch).
struct ConvGemmParams {
  int n, cin, cout, groups;
  int in[3], out[3], k[3], stride[3], pad[3], dil[3];
  int mr, kc, nr;
  Epilogue ep;
};
static_assert(sizeof(ConvGemmParams) == 4 * 28,
              "parameter structs hold 4-byte fields only");

/// Floats of scratch a conv_gemm call needs: one packed strip of kc rows
/// of nr floats, and at least one row of the widest tile of any ISA.
inline index_t conv_gemm_scratch_floats(int kc, int nr) {
  const index_t n = index_t(kc) * nr;
  return n > uk::kMaxNR ? n : uk::kMaxNR;
}

inline namespace KILN_UK_NS {
namespace conv_gemm_detail {

/// A run of a strip's columns in one output row: columns [j, j + len) are
/// outputs (od, oh, ow .. ow + len).
struct Run {
  int j, len, od, oh, ow;
};

/// Packs rows [k0, k0 + kc) of the im2col matrix of group input `xg`, for
/// the `nv` output positions from p0, into strip[kk][NR] (NR = uk::kNR; the
/// columns from nv on are zero).
inline void pack_strip(const ConvGemmParams &p, const float *xg, index_t k0,
                       int kc, index_t p0, int nv, float *strip) {
  constexpr int NR = uk::kNR;
  const int O1 = p.out[1], O2 = p.out[2];
  const int I0 = p.in[0], I1 = p.in[1], I2 = p.in[2];
  const index_t in_plane = index_t(I0) * I1 * I2;
  Run runs[NR];
  int nruns = 0;
  for (int j = 0; j < nv;) {
    const index_t q = p0 + j;
    const int ow = int(q % O2), oh = int(q / O2 % O1), od = int(q / O2 / O1);
    const int len = O2 - ow < nv - j ? O2 - ow : nv - j;
    runs[nruns++] = {j, len, od, oh, ow};
    j += len;
  }
  const int K0 = p.k[0], K1 = p.k[1], K2 = p.k[2];
  const int sw = p.stride[2];
  // Decompose k0 into (icg, kd, kh, kw) once, then step.
  int kw = int(k0 % K2), kh = int(k0 / K2 % K1), kd = int(k0 / K2 / K1 % K0);
  int icg = int(k0 / (index_t(K2) * K1 * K0));
  for (int r = 0; r < kc; ++r) {
    float *dst = strip + index_t(r) * NR;
    for (int j = nv; j < NR; ++j)
      dst[j] = 0.0f;
    const float *xc = xg + index_t(icg) * in_plane;
    for (int u = 0; u < nruns; ++u) {
      const Run &run = runs[u];
      float *d = dst + run.j;
      const int id = run.od * p.stride[0] - p.pad[0] + kd * p.dil[0];
      const int ih = run.oh * p.stride[1] - p.pad[1] + kh * p.dil[1];
      if (id < 0 || id >= I0 || ih < 0 || ih >= I1) {
        for (int t = 0; t < run.len; ++t)
          d[t] = 0.0f;
        continue;
      }
      const float *row = xc + (index_t(id) * I1 + ih) * I2;
      const int iw0 = run.ow * sw - p.pad[2] + kw * p.dil[2];
      if (iw0 >= 0 && iw0 + (run.len - 1) * sw < I2) {
        const float *s = row + iw0;
        if (sw == 1)
          for (int t = 0; t < run.len; ++t)
            d[t] = s[t];
        else
          for (int t = 0; t < run.len; ++t)
            d[t] = s[t * sw];
      } else {
        for (int t = 0; t < run.len; ++t) {
          const int iw = iw0 + t * sw;
          d[t] = iw >= 0 && iw < I2 ? row[iw] : 0.0f;
        }
      }
    }
    if (++kw == K2) {
      kw = 0;
      if (++kh == K1) {
        kh = 0;
        if (++kd == K0) {
          kd = 0;
          ++icg;
        }
      }
    }
  }
}

} // namespace conv_gemm_detail

/// y = act(conv(x, w) + bias + residual) with `w` packed in blocks of MR
/// (= p.mr) output channels; `scratch` holds conv_gemm_scratch_floats(kc,
/// nr) floats. `bias` and `residual` may be null.
template <int MR>
inline void conv_gemm(const ConvGemmParams &p, const float *x, const float *w,
                      const float *bias, const float *residual, float *y,
                      float *scratch) {
  constexpr int NR = uk::kNR;
  const int cin_g = p.cin / p.groups, cout_g = p.cout / p.groups;
  const index_t kvol = index_t(p.k[0]) * p.k[1] * p.k[2];
  const index_t K = cin_g * kvol;
  const index_t P = index_t(p.out[0]) * p.out[1] * p.out[2];
  const index_t in_plane = index_t(p.in[0]) * p.in[1] * p.in[2];
  const index_t blocks = packed_blocks(cout_g, MR);
  const bool pointwise = kvol == 1 && p.stride[0] == 1 && p.stride[1] == 1 &&
                         p.stride[2] == 1 && p.pad[0] == 0 && p.pad[1] == 0 &&
                         p.pad[2] == 0 && P == in_plane;
  const bool in_kernel = uk::applies_activation(p.ep.act);
  // The k chunk that fits the scratch at this ISA's strip width.
  const index_t room = conv_gemm_scratch_floats(p.kc, p.nr) / NR;
  const int kchunk = room < p.kc ? int(room) : p.kc;
  for (int n = 0; n < p.n; ++n)
    for (int g = 0; g < p.groups; ++g) {
      const float *xg =
          x + (index_t(n) * p.cin + index_t(g) * cin_g) * in_plane;
      const index_t yoff = (index_t(n) * p.cout + index_t(g) * cout_g) * P;
      const float *wg = w + index_t(g) * blocks * K * MR;
      for (index_t p0 = 0; p0 < P; p0 += NR) {
        const int nv = P - p0 < NR ? int(P - p0) : NR;
        for (index_t k0 = 0; k0 < K; k0 += kchunk) {
          const int kc = K - k0 < kchunk ? int(K - k0) : kchunk;
          const float *b = scratch;
          index_t ldb = NR;
          if (pointwise && nv == NR) {
            b = xg + k0 * P + p0;
            ldb = P;
          } else {
            conv_gemm_detail::pack_strip(p, xg, k0, kc, p0, nv, scratch);
          }
          for (index_t cb = 0; cb < blocks; ++cb) {
            const int oc0 = int(cb) * MR;
            uk::TileSpec t;
            t.bias = bias ? bias + g * cout_g + oc0 : nullptr;
            t.accumulate = k0 > 0;
            t.last = k0 + kc == K;
            t.residual =
                residual ? residual + yoff + index_t(oc0) * P + p0 : nullptr;
            t.act = in_kernel ? p.ep.act : ACT_NONE;
            t.rows = cout_g - oc0 < MR ? cout_g - oc0 : MR;
            t.cols = nv;
            float *c = y + yoff + index_t(oc0) * P + p0;
            uk::gemm_rows<MR>(kc, wg + (cb * K + k0) * MR, MR, b, ldb, c, P, t);
            if (t.last && !in_kernel)
              for (int m = 0; m < t.rows; ++m)
                activate_span(p.ep, c + index_t(m) * P, nv);
          }
        }
      }
    }
}

/// The kernels the lowering names: conv_gemm_mrN.
KILN_DEFINE_MR_KERNELS(conv_gemm, ConvGemmParams)

} // namespace KILN_UK_NS
} // namespace kiln_rt
