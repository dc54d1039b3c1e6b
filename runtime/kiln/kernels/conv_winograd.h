// Kiln runtime: 3x3 stride-1 convolution (groups 1, dilation 1, any
// padding) by Winograd's F(m x m, 3 x 3), m = 2 or 4 (winograd.h), on
// filters transformed and packed at compile time. Per image, per block of
// `nt` output tiles (row-major over the tile grid):
//   1. input transform: V[xi][c][j] = (BT d B)[xi] of tile j's input patch
//      d in channel c, vectorised along the tiles of a tile row (the rows
//      staged by column phase, so that every tap is one vector load);
//   2. A*A GEMMs on the micro-kernel: M[xi][oc][j] = sum_c U[xi][oc][c]
//      V[xi][c][j] (U the packed filters, blocks of MR output channels);
//   3. output transform: Y = AT M A + bias, scattered into the output, then
//      residual and activation over the written rows.
// V, M and the staging rows are the kernel's scratch, planned in the arena.
#pragma once

#include "../ukernels/gemm.h"
#include "common.h"
#include "packing.h"
#include "winograd.h"

namespace kiln_rt {

/// A conv_winograd call: the geometry (height, width), the output tile `m`
/// (2 or 4), the packed block height `mr`, the k chunk `kc` of the GEMMs
/// and `nt`, the tiles a block (a multiple of 32, so every ISA's tile width
/// divides it).
struct ConvWinogradParams {
  int n, cin, cout;
  int in[2], out[2], pad[2];
  int m, mr, kc, nt;
  Epilogue ep;
};
static_assert(sizeof(ConvWinogradParams) == 4 * 16,
              "parameter structs hold 4-byte fields only");

/// The widest vector of any ISA (the staging rows are padded for it).
constexpr int kWinogradMaxLanes = 16;

/// Floats of staging a call needs: A rows x m phases x (tiles a row + 1 +
/// a vector).
inline index_t conv_winograd_stage_floats(int m, int out_w) {
  const int tw = (out_w + m - 1) / m;
  return index_t(m + 2) * m * (tw + 1 + kWinogradMaxLanes);
}

/// Floats between rows of V and M: a block's tiles and room for a whole
/// vector past them (a segment's last vector is stored whole).
inline index_t conv_winograd_row_floats(int nt) {
  return index_t(nt) + kWinogradMaxLanes;
}

/// Floats between the planes of V (or M) of consecutive xi: `rows` rows
/// and one cache line more, so that the A*A stores of a tile column fall
/// in different L1 sets (a plane a multiple of 4 KiB would alias them).
inline index_t conv_winograd_plane_floats(int rows, int nt) {
  return index_t(rows) * conv_winograd_row_floats(nt) + 16;
}

/// Floats of scratch a call needs: V (A*A planes of cin rows), M (A*A
/// planes of cout rows) and the staging rows.
inline index_t conv_winograd_scratch_floats(int m, int cin, int cout, int nt,
                                            int out_w) {
  const index_t a2 = index_t(m + 2) * (m + 2);
  return a2 * (conv_winograd_plane_floats(cin, nt) +
               conv_winograd_plane_floats(cout, nt)) +
         conv_winograd_stage_floats(m, out_w);
}

inline namespace KILN_UK_NS {
namespace winograd_detail {

typedef uk::Vec::V V;

inline V add(V a, V b) { return uk::Vec::add(a, b); }
inline V sub(V a, V b) { return uk::Vec::sub(a, b); }
/// c * a + b.
inline V fma(float c, V a, V b) {
  return uk::Vec::fma(uk::Vec::splat(c), a, b);
}

/// The 1-D transforms of winograd.h written out with their common terms
/// (the matrices there are the definition; the kernel checks compare).
/// in[k * is] -> out[i * os].
template <int M> struct Transform1d;

template <> struct Transform1d<2> {
  /// BT: d0 - d2, d1 + d2, d2 - d1, d1 - d3.
  static void input(const V *d, int is, V *o, int os) {
    o[0] = sub(d[0], d[2 * is]);
    o[os] = add(d[is], d[2 * is]);
    o[2 * os] = sub(d[2 * is], d[is]);
    o[3 * os] = sub(d[is], d[3 * is]);
  }
  /// AT: m0 + m1 + m2, m1 - m2 - m3.
  static void output(const V *m, int is, V *y, int os) {
    y[0] = add(add(m[0], m[is]), m[2 * is]);
    y[os] = sub(sub(m[is], m[2 * is]), m[3 * is]);
  }
};

template <> struct Transform1d<4> {
  static void input(const V *d, int is, V *o, int os) {
    const V d0 = d[0], d1 = d[is], d2 = d[2 * is], d3 = d[3 * is],
            d4 = d[4 * is], d5 = d[5 * is];
    o[0] = fma(4.0f, d0, fma(-5.0f, d2, d4));
    o[os] = fma(-4.0f, add(d1, d2), add(d3, d4));
    o[2 * os] = fma(4.0f, sub(d1, d2), sub(d4, d3));
    o[3 * os] = fma(2.0f, sub(d3, d1), sub(d4, d2));
    o[4 * os] = fma(2.0f, sub(d1, d3), sub(d4, d2));
    o[5 * os] = fma(4.0f, d1, fma(-5.0f, d3, d5));
  }
  static void output(const V *m, int is, V *y, int os) {
    const V m0 = m[0], m1 = m[is], m2 = m[2 * is], m3 = m[3 * is],
            m4 = m[4 * is], m5 = m[5 * is];
    const V s12 = add(m1, m2), d12 = sub(m1, m2), s34 = add(m3, m4),
            d34 = sub(m3, m4);
    y[0] = add(add(m0, s12), s34);
    y[os] = fma(2.0f, d34, d12);
    y[2 * os] = fma(4.0f, s34, s12);
    y[3 * os] = add(fma(8.0f, d34, d12), m5);
  }
};

/// One segment of a tile row: tiles (ty, tx0 .. tx0 + len) are the block's
/// columns j .. j + len.
struct Segment {
  int ty, tx0, len, j;
};

/// Calls f(segment) for the tile-row pieces of tiles [t0, t0 + nt).
template <typename F>
inline void for_each_segment(int tw, int t0, int nt, F f) {
  for (int j = 0; j < nt;) {
    const int q = t0 + j, tx0 = q % tw;
    const int len = tw - tx0 < nt - j ? tw - tx0 : nt - j;
    f(Segment{q / tw, tx0, len, j});
    j += len;
  }
}

/// Step 1 for channel plane `xc` and one segment: V[xi][j..] of the block
/// (`xi_stride` floats between xi; the lanes past the segment land in the
/// columns a later segment, the zero padding or the row's slack takes).
template <int M>
inline void input_transform(const ConvWinogradParams &p, const float *xc,
                            const Segment &s, float *stage, float *v,
                            index_t xi_stride) {
  constexpr int A = M + 2, L = uk::Vec::kLanes;
  const int H = p.in[0], W = p.in[1];
  const int sw = s.len + 1 + L; // staged columns a phase
  // stage[r][ph][t] = x[ty*M - pad0 + r][(tx0 + t)*M - pad1 + ph] for t <=
  // len: the rows deinterleaved by column phase, zero outside the input.
  // Columns past len only feed lanes that are never stored: not written.
  const int used = s.len + 1;
  const int base = s.tx0 * M - p.pad[1];
  // Staged columns t in [lo, hi) are inside the input for every phase.
  int lo = base >= 0 ? 0 : (-base + M - 1) / M;
  int hi = W - M - base >= 0 ? (W - M - base) / M + 1 : 0;
  lo = lo < used ? lo : used;
  hi = hi < lo ? lo : hi > used ? used : hi;
  for (int r = 0; r < A; ++r) {
    const int ih = s.ty * M - p.pad[0] + r;
    float *d = stage + r * M * sw;
    if (ih < 0 || ih >= H) {
      for (int ph = 0; ph < M; ++ph)
        for (int t = 0; t < used; ++t)
          d[ph * sw + t] = 0.0f;
      continue;
    }
    const float *row = xc + index_t(ih) * W;
    for (int t = 0; t < lo; ++t)
      for (int ph = 0; ph < M; ++ph) {
        const int iw = base + t * M + ph;
        d[ph * sw + t] = iw >= 0 && iw < W ? row[iw] : 0.0f;
      }
#pragma GCC unroll 4
    for (int ph = 0; ph < M; ++ph) {
      const float *src = row + base + ph;
      float *dst = d + ph * sw;
      for (int t = lo; t < hi; ++t)
        dst[t] = src[t * M];
    }
    for (int t = hi; t < used; ++t)
      for (int ph = 0; ph < M; ++ph) {
        const int iw = base + t * M + ph;
        d[ph * sw + t] = iw >= 0 && iw < W ? row[iw] : 0.0f;
      }
  }
  for (int t0 = 0; t0 < s.len; t0 += L) {
    V d[A][A]; // d[r][k]: tap (r, k) of L consecutive tiles
#pragma GCC unroll 8
    for (int r = 0; r < A; ++r)
#pragma GCC unroll 8
      for (int k = 0; k < A; ++k)
        d[r][k] = uk::Vec::load(stage + (r * M + k % M) * sw + t0 + k / M);
    V h[A][A]; // h[r][c] = sum_k BT[c][k] d[r][k]
#pragma GCC unroll 8
    for (int r = 0; r < A; ++r)
      Transform1d<M>::input(&d[r][0], 1, &h[r][0], 1);
    V out[A][A]; // out[q][c] = sum_r BT[q][r] h[r][c]
#pragma GCC unroll 8
    for (int c = 0; c < A; ++c)
      Transform1d<M>::input(&h[0][c], A, &out[0][c], A);
    float *dst = v + s.j + t0;
#pragma GCC unroll 8
    for (int q = 0; q < A; ++q)
#pragma GCC unroll 8
      for (int c = 0; c < A; ++c)
        uk::Vec::store(dst + index_t(q * A + c) * xi_stride, out[q][c]);
  }
}

/// Step 3 for output channel plane `yc` and one segment: tiles from M
/// (`mc` = M[0][oc][0], `xi_stride` floats between xi) plus `b`.
template <int M>
inline void output_transform(const ConvWinogradParams &p, const float *mc,
                             index_t xi_stride, const Segment &s, float b,
                             float *yc) {
  constexpr int A = M + 2, L = uk::Vec::kLanes;
  const int OH = p.out[0], OW = p.out[1];
  for (int t0 = 0; t0 < s.len; t0 += L) {
    V mv[A][A];
#pragma GCC unroll 8
    for (int q = 0; q < A; ++q)
#pragma GCC unroll 8
      for (int c = 0; c < A; ++c)
        mv[q][c] =
            uk::Vec::load(mc + index_t(q * A + c) * xi_stride + s.j + t0);
    V t[M][A]; // t[r][c] = sum_q AT[r][q] mv[q][c]
#pragma GCC unroll 8
    for (int c = 0; c < A; ++c)
      Transform1d<M>::output(&mv[0][c], A, &t[0][c], A);
    V o[M][M]; // o[r][s] = sum_c AT[s][c] t[r][c]
#pragma GCC unroll 8
    for (int r = 0; r < M; ++r)
      Transform1d<M>::output(&t[r][0], 1, &o[r][0], 1);
    float buf[M][M][L];
    const V bv = uk::Vec::splat(b);
#pragma GCC unroll 8
    for (int r = 0; r < M; ++r)
#pragma GCC unroll 8
      for (int c = 0; c < M; ++c)
        uk::Vec::store(buf[r][c], uk::Vec::add(o[r][c], bv));
    const int n = s.len - t0 < L ? s.len - t0 : L;
    for (int r = 0; r < M; ++r) {
      const int oh = s.ty * M + r;
      if (oh >= OH)
        break;
      float *row = yc + index_t(oh) * OW;
      for (int i = 0; i < n; ++i) {
        const int ow = (s.tx0 + t0 + i) * M;
#pragma GCC unroll 8
        for (int c = 0; c < M; ++c)
          if (ow + c < OW)
            row[ow + c] = buf[r][c][i];
      }
    }
  }
}

} // namespace winograd_detail

/// y = act(conv3x3(x, w) + bias + residual), `w` the transformed filters
/// packed in blocks of MR (= p.mr) output channels, output tile M (= p.m);
/// `scratch` holds conv_winograd_scratch_floats(...) floats.
template <int MR, int M>
inline void conv_winograd_m(const ConvWinogradParams &p, const float *x,
                            const float *w, const float *bias,
                            const float *residual, float *y, float *scratch) {
  using namespace winograd_detail;
  constexpr int A = M + 2, A2 = A * A, NR = uk::kNR;
  static_assert(uk::Vec::kLanes <= kWinogradMaxLanes, "staging too narrow");
  const int OH = p.out[0], OW = p.out[1];
  const int th = (OH + M - 1) / M, tw = (OW + M - 1) / M, T = th * tw;
  const index_t in_plane = index_t(p.in[0]) * p.in[1];
  const index_t out_plane = index_t(OH) * OW;
  const index_t nt = p.nt, blocks = packed_blocks(p.cout, MR);
  const index_t ld = conv_winograd_row_floats(p.nt);
  const index_t v_xi = conv_winograd_plane_floats(p.cin, p.nt),
                m_xi = conv_winograd_plane_floats(p.cout, p.nt);
  float *v = scratch;                   // A2 planes [cin][ld]
  float *mbuf = v + index_t(A2) * v_xi; // A2 planes [cout][ld]
  float *stage = mbuf + index_t(A2) * m_xi;
  for (int n = 0; n < p.n; ++n) {
    const float *xn = x + index_t(n) * p.cin * in_plane;
    float *yn = y + index_t(n) * p.cout * out_plane;
    const float *rn =
        residual ? residual + index_t(n) * p.cout * out_plane : nullptr;
    for (int t0 = 0; t0 < T; t0 += int(nt)) {
      const int cnt = T - t0 < nt ? T - t0 : int(nt);
      const int cols = (cnt + NR - 1) / NR * NR; // columns the GEMMs compute
      // 1. V, zero in the columns [cnt, cols).
      for (int c = 0; c < p.cin; ++c) {
        float *vc = v + index_t(c) * ld;
        for_each_segment(tw, t0, cnt, [&](const Segment &s) {
          input_transform<M>(p, xn + index_t(c) * in_plane, s, stage, vc, v_xi);
        });
        if (cnt < cols)
          for (int xi = 0; xi < A2; ++xi)
            for (int j = cnt; j < cols; ++j)
              vc[index_t(xi) * v_xi + j] = 0.0f;
      }
      // 2. M[xi] = U[xi] V[xi].
      for (int xi = 0; xi < A2; ++xi) {
        const float *uxi = w + index_t(xi) * blocks * p.cin * MR;
        for (int j0 = 0; j0 < cols; j0 += NR)
          for (int k0 = 0; k0 < p.cin; k0 += p.kc) {
            const int kc = p.cin - k0 < p.kc ? p.cin - k0 : p.kc;
            const float *b = v + index_t(xi) * v_xi + index_t(k0) * ld + j0;
            for (index_t cb = 0; cb < blocks; ++cb) {
              const uk::TileSpec t = uk::plain_tile(
                  p.cout - int(cb) * MR < MR ? p.cout - int(cb) * MR : MR, NR,
                  k0 > 0);
              float *c = mbuf + index_t(xi) * m_xi + cb * MR * ld + j0;
              uk::gemm_rows<MR>(kc, uxi + (cb * p.cin + k0) * MR, MR, b, ld, c,
                                ld, t);
            }
          }
      }
      // 3. Y, then residual and activation over the rows written.
      for (int oc = 0; oc < p.cout; ++oc) {
        float *yc = yn + index_t(oc) * out_plane;
        const float b = bias ? bias[oc] : 0.0f;
        for_each_segment(tw, t0, cnt, [&](const Segment &s) {
          output_transform<M>(p, mbuf + index_t(oc) * ld, m_xi, s, b, yc);
          const int ow0 = s.tx0 * M;
          const int ow1 = (s.tx0 + s.len) * M < OW ? (s.tx0 + s.len) * M : OW;
          for (int r = 0; r < M && s.ty * M + r < OH; ++r) {
            const index_t at = index_t(s.ty * M + r) * OW + ow0;
            if (rn)
              for (int i = 0; i < ow1 - ow0; ++i)
                yc[at + i] += rn[index_t(oc) * out_plane + at + i];
            activate_span(p.ep, yc + at, ow1 - ow0);
          }
        });
      }
    }
  }
}

/// Dispatches on the output tile p.m.
template <int MR>
inline void conv_winograd(const ConvWinogradParams &p, const float *x,
                          const float *w, const float *bias,
                          const float *residual, float *y, float *scratch) {
  if (p.m == 4)
    conv_winograd_m<MR, 4>(p, x, w, bias, residual, y, scratch);
  else
    conv_winograd_m<MR, 2>(p, x, w, bias, residual, y, scratch);
}

/// The kernels the lowering names: conv_winograd_mrN.
KILN_DEFINE_MR_KERNELS(conv_winograd, ConvWinogradParams)

} // namespace KILN_UK_NS
} // namespace kiln_rt
