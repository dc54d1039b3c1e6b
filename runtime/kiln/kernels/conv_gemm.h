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

/// Whether conv_gemm streams the weights: a layer whose weights exceed
/// 1 MiB (L2) and whose whole im2col matrix fits in 4 MiB (few output
/// positions: ResNet's 7x7 stages) packs all of its input first, then
/// reads each block of weights once, front to back, over the full K with
/// its accumulators in registers. In k chunks, a chunk of weights is 4 KiB
/// pieces 4 K MR bytes apart, which the prefetchers do not follow from
/// DRAM. SIMD targets only (nr >= 8: CPUs with caches and memory to spare).
inline bool conv_gemm_streams_weights(const ConvGemmParams &p) {
  const index_t K = index_t(p.cin / p.groups) * p.k[0] * p.k[1] * p.k[2];
  const index_t P = index_t(p.out[0]) * p.out[1] * p.out[2];
  const index_t cols = (P + uk::kMaxNR - 1) / uk::kMaxNR * uk::kMaxNR;
  return p.nr >= 8 && index_t(p.cout / p.groups) * K * 4 > (index_t(1) << 20) &&
         K * cols * 4 <= (index_t(4) << 20);
}

/// Floats of scratch the conv_gemm call `p` needs (conv_gemm_scratch_floats
/// of its kc and nr, or the whole packed input when it streams weights).
inline index_t conv_gemm_scratch_floats(const ConvGemmParams &p) {
  const index_t chunked = conv_gemm_scratch_floats(p.kc, p.nr);
  if (!conv_gemm_streams_weights(p))
    return chunked;
  const index_t K = index_t(p.cin / p.groups) * p.k[0] * p.k[1] * p.k[2];
  const index_t P = index_t(p.out[0]) * p.out[1] * p.out[2];
  const index_t whole = K * ((P + uk::kMaxNR - 1) / uk::kMaxNR * uk::kMaxNR);
  return whole > chunked ? whole : chunked;
}

/// Output floats of one panel of strips (conv_gemm's cache blocking: about
/// 256 KiB, which stays in the L2 of the CPUs Kiln's SIMD paths serve while
/// a k chunk of weights streams past it once).
constexpr index_t kPanelFloats = 64 * 1024;

inline namespace KILN_UK_NS {
namespace conv_gemm_detail {

/// A run of a strip's columns in one output row: columns [j, j + len) are
/// outputs (od, oh, ow .. ow + len), which read input from depth d0, row h0
/// and column w0 on (before the kernel offsets; negative in the padding).
struct Run {
  int j, len, d0, h0, w0;
};

/// d[0, n) = s[0, n) in whole vectors (the last one overlapping the one
/// before it).
inline void copy_span(float *d, const float *s, int n) {
  constexpr int L = uk::Vec::kLanes;
  if (n < L) {
#pragma GCC unroll 1
    for (int t = 0; t < n; ++t)
      d[t] = s[t];
    return;
  }
  int t = 0;
  for (; t + L <= n; t += L)
    uk::Vec::store(d + t, uk::Vec::load(s + t));
  if (t < n)
    uk::Vec::store(d + n - L, uk::Vec::load(s + n - L));
}

/// d[0, n) = 0, in whole vectors as copy_span.
inline void zero_span(float *d, int n) {
  constexpr int L = uk::Vec::kLanes;
  if (n < L) {
#pragma GCC unroll 1
    for (int t = 0; t < n; ++t)
      d[t] = 0.0f;
    return;
  }
  int t = 0;
  for (; t + L <= n; t += L)
    uk::Vec::store(d + t, uk::Vec::zero());
  if (t < n)
    uk::Vec::store(d + n - L, uk::Vec::zero());
}

/// Where one kernel tap column of a run reads: output columns [lo, hi) of
/// the run read input columns iw0 + t * sw inside the row; the rest is
/// padding.
struct Columns {
  int iw0, lo, hi;
};

inline Columns run_columns(const ConvGemmParams &p, const Run &run, int kw) {
  const int sw = p.stride[2], I2 = p.in[2];
  const int iw0 = run.w0 + kw * p.dil[2];
  int lo = iw0 >= 0 ? 0 : (sw - 1 - iw0) / sw;
  int hi = iw0 >= I2 ? 0 : (I2 - iw0 + sw - 1) / sw;
  lo = lo < run.len ? lo : run.len;
  hi = hi < run.len ? (hi > lo ? hi : lo) : run.len;
  return {iw0, lo, hi};
}

/// The input rows one kernel column of a run reads, row group by row group
/// (G = (channel, kd, kh) in order): the row's depth, height and offset in
/// the group input stepped by additions, all in locals (LLVM would reload
/// the parameters from p after every masked store, which may alias them).
class RowWalk {
public:
  RowWalk(const ConvGemmParams &p, const Run &run, int iw0, index_t G)
      : K0_(p.k[0]), K1_(p.k[1]), I0_(p.in[0]), I1_(p.in[1]), dd_(p.dil[0]),
        dh_(p.dil[1]), d0_(run.d0), h0_(run.h0) {
    const index_t row = p.in[2], plane = index_t(p.in[1]) * row;
    step_h_ = dh_ * row;
    wrap_h_ = dd_ * plane - K1_ * step_h_;
    wrap_d_ = index_t(p.in[0]) * plane - K0_ * dd_ * plane;
    kh_ = int(G % K1_);
    kd_ = int(G / K1_ % K0_);
    id_ = d0_ + kd_ * dd_;
    ih_ = h0_ + kh_ * dh_;
    off_ = (G / K1_ / K0_) * I0_ * plane + index_t(id_) * plane +
           index_t(ih_) * row + iw0;
  }
  /// Whether the current row is inside the input (not padding).
  bool inside() const {
    return unsigned(id_) < unsigned(I0_) && unsigned(ih_) < unsigned(I1_);
  }
  /// The current row's first column (iw0) in group input xg; only inside().
  const float *row(const float *xg) const { return xg + off_; }
  /// On to the next row group.
  void next() {
    off_ += step_h_;
    ih_ += dh_;
    if (++kh_ == K1_) {
      kh_ = 0;
      ih_ = h0_;
      id_ += dd_;
      off_ += wrap_h_;
      if (++kd_ == K0_) {
        kd_ = 0;
        id_ = d0_;
        off_ += wrap_d_;
      }
    }
  }

private:
  int K0_, K1_, I0_, I1_, dd_, dh_, d0_, h0_;
  int kh_, kd_, id_, ih_;
  index_t step_h_, wrap_h_, wrap_d_, off_;
};

/// Rows k0 + r0 + n * K2 (n < count) of a strip for one run and kernel
/// column kw, the first at group G = (channel, kd, kh): masked vector loads
/// and stores with the masks made once (ISAs with masked lanes). Stride
/// SW = 1 loads the columns in range; SW = 2 loads the 2 L input columns
/// of each vector inside the row and keeps the even lanes (the padding
/// columns come out 0).
template <class W, int SW>
inline void pack_tap_masked(const ConvGemmParams &p, const float *xg,
                            const Run &run, int kw, index_t G, int r0,
                            int count, float *strip) {
  static_assert(SW == 1 || SW == 2, "strides 1 and 2");
  constexpr int L = W::kLanes, NR = uk::kNR;
  const int K2 = p.k[2];
  const Columns cols = run_columns(p, run, kw);
  // The masks, made once; the loops over the tile's vectors are unrolled so
  // that they stay in registers.
  typename W::Mask load[SW * NR / L] = {}, store[NR / L] = {};
  const int nvec = (run.len + L - 1) / L;
#pragma GCC unroll 8
  for (int v = 0; v < NR / L; ++v) {
    if (v >= nvec)
      break;
    if (SW == 1) {
      load[v] = W::range_mask(cols.lo - v * L, cols.hi - v * L);
    } else {
      const int first = cols.iw0 + 2 * v * L;
      load[2 * v] = W::range_mask(-first, p.in[2] - first);
      load[2 * v + 1] = W::range_mask(-first - L, p.in[2] - first - L);
    }
    store[v] = W::range_mask(0, run.len - v * L);
  }
  RowWalk rows(p, run, cols.iw0, G);
  float *d = strip + index_t(r0) * NR + run.j;
  const index_t dstep = index_t(K2) * NR;
  for (int n = 0; n < count; ++n, d += dstep, rows.next()) {
    if (rows.inside()) {
      const float *s = rows.row(xg);
#pragma GCC unroll 8
      for (int v = 0; v < NR / L; ++v) {
        if (v >= nvec)
          break;
        typename W::V x;
        if constexpr (SW == 1)
          x = W::load_masked(s + v * L, load[v]);
        else
          x = W::even_lanes(W::load_masked(s + 2 * v * L, load[2 * v]),
                            W::load_masked(s + 2 * v * L + L, load[2 * v + 1]));
        W::store_masked(d + v * L, x, store[v]);
      }
    } else {
#pragma GCC unroll 8
      for (int v = 0; v < NR / L; ++v) {
        if (v >= nvec)
          break;
        W::store_masked(d + v * L, W::zero(), store[v]);
      }
    }
  }
}

/// pack_tap_masked for any ISA and stride: zeros, then the columns in
/// range (contiguous vector copies at stride 1).
inline void pack_tap(const ConvGemmParams &p, const float *xg, const Run &run,
                     int kw, index_t G, int r0, int count, float *strip) {
  constexpr int NR = uk::kNR;
  const int K2 = p.k[2], sw = p.stride[2];
  const Columns cols = run_columns(p, run, kw);
  const bool padded = cols.lo > 0 || cols.hi < run.len;
  RowWalk rows(p, run, cols.iw0, G);
  float *d = strip + index_t(r0) * NR + run.j;
  for (int n = 0; n < count; ++n, d += index_t(K2) * NR, rows.next()) {
    const bool inside = rows.inside();
    if (!inside || padded)
      zero_span(d, run.len);
    if (inside) {
      const float *s = rows.row(xg);
      if (sw == 1)
        copy_span(d + cols.lo, s + cols.lo, cols.hi - cols.lo);
      else
        for (int t = cols.lo; t < cols.hi; ++t)
          d[t] = s[t * sw];
    }
  }
}

/// Packs rows [k0, k0 + kc) of the im2col matrix of group input `xg`, for
/// the `nv` output positions from p0, into strip[kk][NR] (NR = uk::kNR; the
/// columns from nv on are zero). Row k is tap (channel, kd, kh, kw) with
/// kw = k % K2: the loops run over runs of the strip's columns, then kernel
/// columns kw (whose padding is found once), then the rows of that kw.
inline void pack_strip(const ConvGemmParams &p, const float *xg, index_t k0,
                       int kc, index_t p0, int nv, float *strip) {
  constexpr int NR = uk::kNR;
  const int O1 = p.out[1], O2 = p.out[2];
  Run runs[NR];
  int nruns = 0;
  for (int j = 0; j < nv;) {
    const index_t q = p0 + j;
    const int ow = int(q % O2), oh = int(q / O2 % O1), od = int(q / O2 / O1);
    const int len = O2 - ow < nv - j ? O2 - ow : nv - j;
    runs[nruns++] = {j, len, od * p.stride[0] - p.pad[0],
                     oh * p.stride[1] - p.pad[1], ow * p.stride[2] - p.pad[2]};
    j += len;
  }
  if (nv < NR)
    for (int r = 0; r < kc; ++r)
      zero_span(strip + index_t(r) * NR + nv, NR - nv);
  const int K2 = p.k[2];
  const index_t end = k0 + kc;
  for (int kw = 0; kw < K2; ++kw) {
    // The first row of the chunk at this kw, its group and the row count.
    const index_t G = k0 <= kw ? 0 : (k0 - kw + K2 - 1) / K2;
    const index_t k = G * K2 + kw;
    if (k >= end)
      continue;
    const int count = int((end - k + K2 - 1) / K2);
    for (int u = 0; u < nruns; ++u) {
      if constexpr (uk::kMaskedLanes) {
        if (p.stride[2] == 1) {
          pack_tap_masked<uk::Vec, 1>(p, xg, runs[u], kw, G, int(k - k0), count,
                                      strip);
          continue;
        }
        if (p.stride[2] == 2) {
          pack_tap_masked<uk::Vec, 2>(p, xg, runs[u], kw, G, int(k - k0), count,
                                      strip);
          continue;
        }
      }
      pack_tap(p, xg, runs[u], kw, G, int(k - k0), count, strip);
    }
  }
}

/// The tile of output channels from oc (rows of them) and the nv columns
/// at output offset at: bias, residual and activation as the epilogue says.
inline uk::TileSpec tile_spec(const ConvGemmParams &p, const float *bias,
                              const float *residual, int oc, index_t at,
                              int rows, int nv, bool accumulate, bool last) {
  uk::TileSpec t;
  t.bias = bias ? bias + oc : nullptr;
  t.accumulate = accumulate;
  t.last = last;
  t.residual = residual ? residual + at : nullptr;
  t.act = uk::applies_activation(p.ep.act) ? p.ep.act : ACT_NONE;
  t.rows = rows;
  t.cols = nv;
  return t;
}

} // namespace conv_gemm_detail

/// y = act(conv(x, w) + bias + residual) with `w` packed in blocks of MR
/// (= p.mr) output channels; `scratch` holds conv_gemm_scratch_floats(p)
/// floats. `bias` and `residual` may be null.
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
      if (conv_gemm_streams_weights(p)) {
        // The whole input packed (strip st at st * K * NR), then each block
        // of weights once over the full K.
        const index_t strips = (P + NR - 1) / NR;
        for (index_t st = 0; st < strips; ++st) {
          const index_t p0 = st * NR;
          const int nv = P - p0 < NR ? int(P - p0) : NR;
          if (!pointwise || nv < NR)
            conv_gemm_detail::pack_strip(p, xg, 0, int(K), p0, nv,
                                         scratch + st * K * NR);
        }
        for (index_t cb = 0; cb < blocks; ++cb)
          for (index_t st = 0; st < strips; ++st) {
            const index_t p0 = st * NR;
            const int nv = P - p0 < NR ? int(P - p0) : NR;
            const bool in_place = pointwise && nv == NR;
            const int oc0 = int(cb) * MR;
            const uk::TileSpec t = conv_gemm_detail::tile_spec(
                p, bias, residual, g * cout_g + oc0,
                yoff + index_t(oc0) * P + p0,
                cout_g - oc0 < MR ? cout_g - oc0 : MR, nv, false, true);
            float *c = y + yoff + index_t(oc0) * P + p0;
            uk::gemm_rows<MR>(int(K), wg + cb * K * MR, MR,
                              in_place ? xg + p0 : scratch + st * K * NR,
                              in_place ? P : NR, c, P, t);
            if (!in_kernel)
              for (int m = 0; m < t.rows; ++m)
                activate_span(p.ep, c + index_t(m) * P, nv);
          }
        continue;
      }
      // Panels of S strips: each k chunk's weights are read once per panel
      // (from L2 while the panel's output, S * NR * cout_g floats, stays
      // near), not once per strip.
      const index_t strips = (P + NR - 1) / NR;
      index_t S = kPanelFloats / (index_t(NR) * cout_g);
      S = S < 1 ? 1 : S > strips ? strips : S;
      for (index_t s0 = 0; s0 < strips; s0 += S) {
        const index_t s1 = s0 + S < strips ? s0 + S : strips;
        for (index_t k0 = 0; k0 < K; k0 += kchunk) {
          const int kc = K - k0 < kchunk ? int(K - k0) : kchunk;
          for (index_t st = s0; st < s1; ++st) {
            const index_t p0 = st * NR;
            const int nv = P - p0 < NR ? int(P - p0) : NR;
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
              const uk::TileSpec t = conv_gemm_detail::tile_spec(
                  p, bias, residual, g * cout_g + oc0,
                  yoff + index_t(oc0) * P + p0,
                  cout_g - oc0 < MR ? cout_g - oc0 : MR, nv, k0 > 0,
                  k0 + kc == K);
              float *c = y + yoff + index_t(oc0) * P + p0;
              uk::gemm_rows<MR>(kc, wg + (cb * K + k0) * MR, MR, b, ldb, c, P,
                                t);
              if (t.last && !in_kernel)
                for (int m = 0; m < t.rows; ++m)
                  activate_span(p.ep, c + index_t(m) * P, nv);
            }
          }
        }
      }
    }
}

/// The kernels the lowering names: conv_gemm_mrN.
KILN_DEFINE_MR_KERNELS(conv_gemm, ConvGemmParams)

} // namespace KILN_UK_NS
} // namespace kiln_rt
