// Kiln runtime: the Winograd minimal-filtering transforms F(m x m, 3 x 3)
// for m = 2 and m = 4 (Lavin & Gray, "Fast Algorithms for Convolutional
// Neural Networks", 2016), in one place for the compiler (which transforms
// the filters at compile time, pack-weights) and the conv_winograd kernel
// (which transforms input tiles and output tiles at run time).
//
// With A = m + 2, an m x m output tile of a 3x3 stride-1 conv is
//   Y = AT [ sum_c (G g_c GT) (.) (BT d_c B) ] A
// for the A x A input tile d_c of each input channel c ((.): elementwise).
// The transformed filters U = G g GT are packed as a conv_gemm weight with
// A*A groups (one GEMM per element xi = (row, col) of the A x A tile):
//   U[xi][oc][c] at packed_weight_offset(Cout, Cin, mr, xi, oc, c).
#pragma once

#include "common.h"
#include "packing.h"

namespace kiln_rt {

/// The filter transform G (A x 3) of F(M x M, 3 x 3), M in {2, 4}. The
/// input transform BT and output transform AT are applied at run time,
/// written out with their common terms in conv_winograd.h
/// (winograd_detail::Transform1d); they are, for M = 2,
///   BT = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1],
///   AT = [1 1 1 0; 0 1 -1 -1],
/// and for M = 4
///   BT = [4 0 -5 0 1 0; 0 -4 -4 1 1 0; 0 4 -4 -1 1 0;
///         0 -2 -1 2 1 0; 0 2 -1 -2 1 0; 0 4 0 -5 0 1],
///   AT = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0; 0 1 -1 8 -8 1].
template <int M> struct WinogradF;

template <> struct WinogradF<2> {
  static constexpr int kA = 4;
  static constexpr double kG[4][3] = {
      {1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}};
};

template <> struct WinogradF<4> {
  static constexpr int kA = 6;
  static constexpr double kG[6][3] = {{1.0 / 4, 0, 0},
                                      {-1.0 / 6, -1.0 / 6, -1.0 / 6},
                                      {-1.0 / 6, 1.0 / 6, -1.0 / 6},
                                      {1.0 / 24, 1.0 / 12, 1.0 / 6},
                                      {1.0 / 24, -1.0 / 12, 1.0 / 6},
                                      {0, 0, 1}};
};

/// Whether m is an output tile Kiln has transforms for.
constexpr bool is_winograd_tile(int m) { return m == 2 || m == 4; }

/// Tile side of the transformed domain for output tile m.
constexpr int winograd_alpha(int m) { return m + 2; }

/// Output tiles of side m covering an oh x ow output.
constexpr index_t winograd_tiles(int m, index_t oh, index_t ow) {
  return ((oh + m - 1) / m) * ((ow + m - 1) / m);
}

/// U = G g GT (A x A, row-major) of one 3x3 filter g (row-major), in
/// double: what the compiler packs.
template <int M> inline void winograd_filter(const double g[9], double u[]) {
  constexpr int A = WinogradF<M>::kA;
  const auto &G = WinogradF<M>::kG;
  double t[A][3];
  for (int i = 0; i < A; ++i)
    for (int j = 0; j < 3; ++j)
      t[i][j] = G[i][0] * g[0 * 3 + j] + G[i][1] * g[1 * 3 + j] +
                G[i][2] * g[2 * 3 + j];
  for (int i = 0; i < A; ++i)
    for (int j = 0; j < A; ++j)
      u[i * A + j] = t[i][0] * G[j][0] + t[i][1] * G[j][1] + t[i][2] * G[j][2];
}

/// The filter g back from U = G g GT by G's left inverse L = (GT G)^-1 GT
/// (g = L U LT; exact up to U's rounding): the reference interpreter's
/// reading of a packed Winograd weight.
template <int M>
inline void winograd_filter_inverse(const double u[], double g[9]) {
  constexpr int A = WinogradF<M>::kA;
  const auto &G = WinogradF<M>::kG;
  // GT G (3 x 3) and its inverse by the adjugate.
  double n[3][3];
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) {
      n[i][j] = 0;
      for (int k = 0; k < A; ++k)
        n[i][j] += G[k][i] * G[k][j];
    }
  const double det = n[0][0] * (n[1][1] * n[2][2] - n[1][2] * n[2][1]) -
                     n[0][1] * (n[1][0] * n[2][2] - n[1][2] * n[2][0]) +
                     n[0][2] * (n[1][0] * n[2][1] - n[1][1] * n[2][0]);
  double inv[3][3];
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) {
      const int r0 = (j + 1) % 3, r1 = (j + 2) % 3, c0 = (i + 1) % 3,
                c1 = (i + 2) % 3;
      inv[i][j] = (n[r0][c0] * n[r1][c1] - n[r0][c1] * n[r1][c0]) / det;
    }
  double l[3][A];
  for (int i = 0; i < 3; ++i)
    for (int k = 0; k < A; ++k)
      l[i][k] = inv[i][0] * G[k][0] + inv[i][1] * G[k][1] + inv[i][2] * G[k][2];
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) {
      double s = 0;
      for (int a = 0; a < A; ++a)
        for (int b = 0; b < A; ++b)
          s += l[i][a] * u[a * A + b] * l[j][b];
      g[i * 3 + j] = s;
    }
}

/// Floats of the packed transformed filters of a [cout, cin, 3, 3] weight.
inline index_t winograd_packed_size(int m, int cout, int cin, int mr) {
  const int a = winograd_alpha(m);
  return packed_weight_size(a * a, cout, cin, mr);
}

/// Transforms the filters of `w` ([cout, cin, 3, 3], PyTorch's layout) for
/// tile M and packs them in blocks of mr output channels into `packed`
/// (winograd_packed_size floats, zero-filled by the caller): what
/// pack-weights embeds and the kernel checks feed the kernel.
template <int M>
inline void winograd_pack_filters(const float *w, int cout, int cin, int mr,
                                  float *packed) {
  constexpr int A = M + 2;
  double g[9], u[A * A];
  for (int oc = 0; oc < cout; ++oc)
    for (int c = 0; c < cin; ++c) {
      for (int i = 0; i < 9; ++i)
        g[i] = w[(index_t(oc) * cin + c) * 9 + i];
      winograd_filter<M>(g, u);
      for (int xi = 0; xi < A * A; ++xi)
        packed[packed_weight_offset(cout, cin, mr, xi, oc, c)] = float(u[xi]);
    }
}

} // namespace kiln_rt
