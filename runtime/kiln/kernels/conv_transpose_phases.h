// Kiln runtime: transposed convolution as a GEMM whose rows are the kernel
// taps and whose columns are the input positions, the vector direction,
// summed into the output's stride phases (the sub-pixel decomposition):
//   C[col][i] = sum_icg W[col][icg] X[icg][i],  col = (ocg, kd, kh, kw),
//   y[ocg][i * stride - pad + k * dil] += C[col][i].
// Output o = t * s + r (phase r = o mod s) of a tap at offset e = k * dil -
// pad takes input i = t - floor(e / s) in phase r = e mod s: in a plane of
// phase r, the tap's contributions are a shifted copy of the input plane,
// added in whole vectors (no scatter one element at a time). The weights
// are packed at compile time like conv_gemm's (blocks of MR taps, the input
// channels as k); the input is read in place (the last partial strip
// packed once). A last pass interleaves the phases into y with bias,
// residual and activation. For SIMD targets on inputs of at least two
// strips; conv_transpose_gemm (positions as rows) serves the others.
#pragma once

#include "../ukernels/gemm.h"
#include "common.h"
#include "conv_gemm.h"
#include "conv_transpose_gemm.h"
#include "packing.h"

namespace kiln_rt {

/// Output positions of a phase along a dim of `out` outputs at stride s
/// (every phase planned at the largest, ceil(out / s)).
inline int phase_extent(int out, int s) { return (out + s - 1) / s; }

/// The phase planes of one output channel: the extent T of every phase
/// along each dim, the floats of one phase (tvol) and of all of them
/// (plane = stride volume x tvol, >= the output plane).
struct Phases {
  int T[3];
  index_t tvol, plane;
  explicit Phases(const ConvTransposeGemmParams &p) {
    tvol = 1;
    for (int i = 0; i < 3; ++i) {
      T[i] = phase_extent(p.out[i], p.stride[i]);
      tvol *= T[i];
    }
    plane = tvol * p.stride[0] * p.stride[1] * p.stride[2];
  }
};

/// Floats of scratch a conv_transpose_phases call needs: the phase planes
/// of a group's output channels, one tile (mr x kMaxNR) and the last
/// partial strip of the input (Cin/groups x kMaxNR).
inline index_t
conv_transpose_phases_scratch_floats(const ConvTransposeGemmParams &p) {
  return index_t(p.cout / p.groups) * Phases(p).plane +
         index_t(p.mr) * uk::kMaxNR + index_t(p.cin / p.groups) * uk::kMaxNR;
}

inline namespace KILN_UK_NS {
namespace conv_transpose_phases_detail {

/// floor(a / b) for b > 0.
inline int floor_div(int a, int b) {
  return a >= 0 ? a / b : -((b - 1 - a) / b);
}

/// Where a tap's contributions go along one dim: phase r, and the shift
/// from input index to phase index (t = i + shift).
struct TapDim {
  int r, shift;
};

inline TapDim tap_dim(const ConvTransposeGemmParams &p, int dim, int k) {
  const int e = k * p.dil[dim] - p.pad[dim], s = p.stride[dim];
  const int q = floor_div(e, s);
  return {e - q * s, q};
}

/// A run of a strip's columns in one input row: columns [j, j + len) are
/// input positions (id, ih, iw .. iw + len).
struct Run {
  int j, len, id, ih, iw;
};

/// The runs of the nv input positions from p0 (at most nv of them).
inline int strip_runs(const ConvTransposeGemmParams &p, index_t p0, int nv,
                      Run *runs) {
  int n = 0;
  for (int j = 0; j < nv;) {
    const index_t i = p0 + j;
    const int iw = int(i % p.in[2]), ih = int(i / p.in[2] % p.in[1]),
              id = int(i / p.in[2] / p.in[1]);
    const int len = p.in[2] - iw < nv - j ? p.in[2] - iw : nv - j;
    runs[n++] = {j, len, id, ih, iw};
    j += len;
  }
  return n;
}

/// d[0, n) += s[0, n) in vectors (the last one's lanes masked).
inline void add_span(float *d, const float *s, int n) {
  constexpr int L = uk::Vec::kLanes;
  int t = 0;
  for (; t + L <= n; t += L)
    uk::Vec::store(d + t,
                   uk::Vec::add(uk::Vec::load(d + t), uk::Vec::load(s + t)));
  if (t < n)
    uk::store_lanes(d + t,
                    uk::Vec::add(uk::load_lanes(d + t, n - t),
                                 uk::load_lanes(s + t, n - t)),
                    n - t);
}

/// Where the results of one tap go: the first of its phase planes (output
/// channel and phase), and the shifts from input to phase indices.
struct TapRow {
  float *z;
  int sd, sh, sw;
};

/// The targets of taps col0 .. col0 + rows - 1 in the phase planes z (ph
/// their geometry); once per block of taps.
inline void tap_rows(const ConvTransposeGemmParams &p, const Phases &ph,
                     index_t col0, int rows, float *z, TapRow *out) {
  const int K0 = p.k[0], K1 = p.k[1], K2 = p.k[2];
  const index_t kvol = index_t(K0) * K1 * K2;
  for (int m = 0; m < rows; ++m) {
    const index_t col = col0 + m;
    const int kk = int(col % kvol);
    const TapDim d = tap_dim(p, 0, kk / K2 / K1),
                 h = tap_dim(p, 1, kk / K2 % K1), w = tap_dim(p, 2, kk % K2);
    out[m] = {z + (col / kvol) * ph.plane +
                  ((index_t(d.r) * p.stride[1] + h.r) * p.stride[2] + w.r) *
                      ph.tvol,
              d.shift, h.shift, w.shift};
  }
}

/// Adds tile rows [0, rows) (to the taps `taps`, columns the strip's runs)
/// into their phase planes.
inline void add_tile(const Phases &ph, const float *tile, int ldt, int rows,
                     const TapRow *taps, const Run *runs, int nruns) {
  const int T0 = ph.T[0], T1 = ph.T[1], T2 = ph.T[2];
  for (int m = 0; m < rows; ++m) {
    const TapRow &tap = taps[m];
    const float *trow = tile + index_t(m) * ldt;
    for (int r = 0; r < nruns; ++r) {
      const Run &run = runs[r];
      const int td = run.id + tap.sd, th = run.ih + tap.sh;
      if (td < 0 || td >= T0 || th < 0 || th >= T1)
        continue;
      // Phase columns tw = iw + sw of the run, clipped to [0, T2).
      int lo = run.iw + tap.sw, hi = lo + run.len;
      const int skip = lo < 0 ? -lo : 0;
      lo += skip;
      hi = hi < T2 ? hi : T2;
      if (lo < hi)
        add_span(tap.z + (index_t(td) * T1 + th) * T2 + lo, trow + run.j + skip,
                 hi - lo);
    }
  }
}

} // namespace conv_transpose_phases_detail

/// y = act(conv_transpose(x, w) + bias + residual), `w` packed in blocks of
/// MR (= p.mr) taps over the input channels (packing.h,
/// for_each_tap_blocked); `scratch` holds
/// conv_transpose_phases_scratch_floats(p) floats. `bias` and `residual`
/// may be null.
template <int MR>
inline void conv_transpose_phases(const ConvTransposeGemmParams &p,
                                  const float *x, const float *w,
                                  const float *bias, const float *residual,
                                  float *y, float *scratch) {
  namespace d = conv_transpose_phases_detail;
  constexpr int NR = uk::kNR;
  const int cin_g = p.cin / p.groups, cout_g = p.cout / p.groups;
  const index_t kvol = index_t(p.k[0]) * p.k[1] * p.k[2];
  const index_t cols = cout_g * kvol, blocks = packed_blocks(int(cols), MR);
  const index_t P = index_t(p.in[0]) * p.in[1] * p.in[2];
  const index_t Q = index_t(p.out[0]) * p.out[1] * p.out[2];
  const Phases ph(p);
  const index_t plane = ph.plane, tvol = ph.tvol;
  const int S0 = p.stride[0], S1 = p.stride[1], S2 = p.stride[2];
  const int T1 = ph.T[1], T2 = ph.T[2];
  float *z = scratch, *tile = z + cout_g * plane,
        *tail = tile + MR * uk::kMaxNR;
  const index_t strips = (P + NR - 1) / NR, full = P / NR;
  // Panels of strips whose input (Cin/groups x S x NR floats) stays in L2
  // while every block of weights passes over it.
  index_t S = kPanelFloats / (index_t(NR) * cin_g);
  S = S < 1 ? 1 : S > strips ? strips : S;
  d::Run runs[uk::kMaxNR];
  d::TapRow taps[MR];
  for (int n = 0; n < p.n; ++n)
    for (int g = 0; g < p.groups; ++g) {
      const float *xg = x + (index_t(n) * p.cin + index_t(g) * cin_g) * P;
      const float *wg = w + index_t(g) * blocks * cin_g * MR;
      const index_t oc0 = index_t(g) * cout_g;
      for (index_t q = 0; q < cout_g * plane; ++q)
        z[q] = 0.0f;
      if (full < strips)
        for (int c = 0; c < cin_g; ++c)
          for (int j = 0; j < NR; ++j)
            tail[c * NR + j] =
                full * NR + j < P ? xg[index_t(c) * P + full * NR + j] : 0.0f;
      for (index_t s0 = 0; s0 < strips; s0 += S) {
        const index_t s1 = s0 + S < strips ? s0 + S : strips;
        for (index_t cb = 0; cb < blocks; ++cb) {
          uk::TileSpec t = uk::plain_tile(
              cols - cb * MR < MR ? int(cols - cb * MR) : MR, NR);
          d::tap_rows(p, ph, cb * MR, t.rows, z, taps);
          for (index_t st = s0; st < s1; ++st) {
            const index_t p0 = st * NR;
            const int nv = P - p0 < NR ? int(P - p0) : NR;
            t.cols = nv;
            const bool packed = st == full;
            uk::gemm_rows<MR>(cin_g, wg + cb * cin_g * MR, MR,
                              packed ? tail : xg + p0, packed ? NR : P, tile,
                              NR, t);
            const int nruns = d::strip_runs(p, p0, nv, runs);
            d::add_tile(ph, tile, NR, t.rows, taps, runs, nruns);
          }
        }
      }
      // The phases interleaved into y, with the epilogue.
      for (int oc = 0; oc < cout_g; ++oc) {
        const float *zc = z + oc * plane;
        float *yc = y + (index_t(n) * p.cout + oc0 + oc) * Q;
        const float b = bias ? bias[oc0 + oc] : 0.0f;
        for (int od = 0; od < p.out[0]; ++od)
          for (int oh = 0; oh < p.out[1]; ++oh) {
            float *yr = yc + (index_t(od) * p.out[1] + oh) * p.out[2];
            const float *zr = zc +
                              (index_t(od % S0) * S1 + oh % S1) * S2 * tvol +
                              (index_t(od / S0) * T1 + oh / S1) * T2;
            for (int rw = 0; rw < S2; ++rw) {
              const float *zp = zr + rw * tvol;
              for (int ow = rw, tw = 0; ow < p.out[2]; ow += S2, ++tw)
                yr[ow] = zp[tw] + b;
            }
            if (residual) {
              const float *rr = residual + (yr - y);
              for (int ow = 0; ow < p.out[2]; ++ow)
                yr[ow] += rr[ow];
            }
            activate_span(p.ep, yr, p.out[2]);
          }
      }
    }
}

/// The kernels the lowering names: conv_transpose_phases_mrN.
KILN_DEFINE_MR_KERNELS(conv_transpose_phases, ConvTransposeGemmParams)

} // namespace KILN_UK_NS
} // namespace kiln_rt
