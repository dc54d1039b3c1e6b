// Kiln runtime: transposed convolution (1 to 3 spatial dims, groups,
// stride, padding, dilation, output padding through the output size) as a
// GEMM per group and a scatter of its tiles (col2im), no tap at a time:
//   C[i][col] = sum_icg X[icg][i] W[icg][col],  col = (ocg, kd, kh, kw),
//   y[ocg][i * stride - pad + k * dil] += C[i][col].
// Rows are input positions (MR of them a tile, broadcast from the input),
// columns the weights strip-packed at compile time (packing.h), the vector
// direction. The output starts at the bias; residual and activation are a
// last pass over it.
#pragma once

#include "../ukernels/gemm.h"
#include "common.h"
#include "packing.h"

namespace kiln_rt {

/// A conv_transpose_gemm call: the geometry as ConvParams (weights [Cin,
/// Cout/groups, k...] before packing) and the tile height `mr` (input
/// positions) chosen at compile time.
struct ConvTransposeGemmParams {
  int n, cin, cout, groups;
  int in[3], out[3], k[3], stride[3], pad[3], dil[3];
  int mr;
  Epilogue ep;
};
static_assert(sizeof(ConvTransposeGemmParams) == 4 * 26,
              "parameter structs hold 4-byte fields only");

/// Floats of scratch a call needs: a packed input panel (Cin/groups x mr)
/// and one tile (mr x kStripCols).
inline index_t conv_transpose_gemm_scratch_floats(int cin_g, int mr) {
  return index_t(cin_g) * mr + index_t(mr) * kStripCols;
}

inline namespace KILN_UK_NS {

/// y = act(conv_transpose(x, w) + bias + residual), `w` strip-packed,
/// MR = p.mr; `bias` and `residual` may be null.
template <int MR>
inline void conv_transpose_gemm(const ConvTransposeGemmParams &p,
                                const float *x, const float *w,
                                const float *bias, const float *residual,
                                float *y, float *scratch) {
  constexpr int NR = uk::kNR;
  static_assert(kStripCols % NR == 0, "a tile width that splits no strip");
  const int cin_g = p.cin / p.groups, cout_g = p.cout / p.groups;
  const int K0 = p.k[0], K1 = p.k[1], K2 = p.k[2];
  const index_t kvol = index_t(K0) * K1 * K2;
  const index_t cols = cout_g * kvol, strips = packed_strips(cols);
  const index_t P = index_t(p.in[0]) * p.in[1] * p.in[2];
  const index_t Q = index_t(p.out[0]) * p.out[1] * p.out[2];
  float *panel = scratch, *tile = scratch + index_t(cin_g) * MR;
  for (int n = 0; n < p.n; ++n)
    for (int oc = 0; oc < p.cout; ++oc) {
      float *yp = y + (index_t(n) * p.cout + oc) * Q;
      const float b = bias ? bias[oc] : 0.0f;
      for (index_t q = 0; q < Q; ++q)
        yp[q] = b;
    }
  for (int n = 0; n < p.n; ++n)
    for (int g = 0; g < p.groups; ++g) {
      const float *xg = x + (index_t(n) * p.cin + index_t(g) * cin_g) * P;
      float *yg = y + (index_t(n) * p.cout + index_t(g) * cout_g) * Q;
      const float *wg = w + index_t(g) * strips * cin_g * kStripCols;
      // The last MR input positions of each channel, packed with zero rows
      // past the input when P is not a multiple of MR.
      const index_t tail = P / MR * MR;
      if (tail < P)
        for (int c = 0; c < cin_g; ++c)
          for (int m = 0; m < MR; ++m)
            panel[c * MR + m] =
                tail + m < P ? xg[index_t(c) * P + tail + m] : 0.0f;
      // Strips of weight columns outermost: each is read once from memory
      // and reused from cache by every block of input positions.
      for (index_t c0 = 0; c0 < cols; c0 += NR) {
        const int ncols = cols - c0 < NR ? int(cols - c0) : NR;
        const float *bstrip =
            wg + (c0 / kStripCols) * cin_g * kStripCols + c0 % kStripCols;
        for (index_t i0 = 0; i0 < P; i0 += MR) {
          const int rows = P - i0 < MR ? int(P - i0) : MR;
          const bool packed = i0 == tail;
          // Output coordinates of each row's taps at k = 0, its offset in
          // an output plane, and whether every tap lands inside the output.
          int od0[MR] = {}, oh0[MR] = {}, ow0[MR] = {};
          index_t off0[MR] = {};
          bool inside[MR] = {};
          for (int m = 0; m < rows; ++m) {
            const index_t i = i0 + m;
            const int iw = int(i % p.in[2]), ih = int(i / p.in[2] % p.in[1]),
                      id = int(i / p.in[2] / p.in[1]);
            od0[m] = id * p.stride[0] - p.pad[0];
            oh0[m] = ih * p.stride[1] - p.pad[1];
            ow0[m] = iw * p.stride[2] - p.pad[2];
            off0[m] = (index_t(od0[m]) * p.out[1] + oh0[m]) * p.out[2] + ow0[m];
            inside[m] =
                od0[m] >= 0 && od0[m] + (K0 - 1) * p.dil[0] < p.out[0] &&
                oh0[m] >= 0 && oh0[m] + (K1 - 1) * p.dil[1] < p.out[1] &&
                ow0[m] >= 0 && ow0[m] + (K2 - 1) * p.dil[2] < p.out[2];
          }
          const uk::TileSpec t = uk::plain_tile(rows, ncols);
          uk::gemm_rows<MR>(cin_g, packed ? panel : xg + i0,
                            packed ? MR : int(P), bstrip, kStripCols, tile, NR,
                            t);
          // col2im: each column is one output channel and kernel tap, the
          // columns consecutive, so the tap (ocg, kd, kh, kw) steps like an
          // odometer from the tile's first column (no division per column).
          int ocg = int(c0 / kvol);
          const int kk0 = int(c0 % kvol);
          int kw = kk0 % K2, kh = kk0 / K2 % K1, kd = kk0 / K2 / K1;
          for (int j = 0; j < ncols; ++j) {
            float *yc = yg + index_t(ocg) * Q;
            const int dd = kd * p.dil[0], dh = kh * p.dil[1],
                      dw = kw * p.dil[2];
            const index_t toff = (index_t(dd) * p.out[1] + dh) * p.out[2] + dw;
            for (int m = 0; m < rows; ++m) {
              if (inside[m]) {
                yc[off0[m] + toff] += tile[m * NR + j];
                continue;
              }
              const int od = od0[m] + dd, oh = oh0[m] + dh, ow = ow0[m] + dw;
              if (od >= 0 && od < p.out[0] && oh >= 0 && oh < p.out[1] &&
                  ow >= 0 && ow < p.out[2])
                yc[(index_t(od) * p.out[1] + oh) * p.out[2] + ow] +=
                    tile[m * NR + j];
            }
            if (++kw == K2) {
              kw = 0;
              if (++kh == K1) {
                kh = 0;
                if (++kd == K0) {
                  kd = 0;
                  ++ocg;
                }
              }
            }
          }
        }
      }
    }
  const index_t total = index_t(p.n) * p.cout * Q;
  if (residual)
    for (index_t q = 0; q < total; ++q)
      y[q] += residual[q];
  activate_span(p.ep, y, total);
}

/// The kernels the lowering names: conv_transpose_gemm_mrN.
KILN_DEFINE_MR_KERNELS(conv_transpose_gemm, ConvTransposeGemmParams)

} // namespace KILN_UK_NS
} // namespace kiln_rt
