// Kiln runtime: the layout of packed convolution weights, in one place for
// the compiler's pack-weights pass (which writes it), the reference
// interpreter (which reads it back) and the conv_gemm kernel.
//
// A conv of G groups, Cout/G = CG output channels per group and K = Cin/G x
// kernel volume inputs per output is packed in blocks of MR output
// channels: W[g][oc][kk] (kk in PyTorch's (icg, kd, kh, kw) order) is at
//   ((g * B + oc / MR) * K + kk) * MR + oc % MR,   B = ceil(CG / MR),
// the MR weights of one kk adjacent (what a micro-kernel broadcasts per k
// step), zeros in the rows past CG of a group's last block.
#pragma once

#include "common.h"

namespace kiln_rt {

/// The block heights a packed layout may have (the lowerings name a kernel
/// NAME_mrN for each; KILN_DEFINE_MR_KERNELS in ukernels/gemm.h).
constexpr int kBlockHeights[] = {4, 6, 8, 12, 16};

/// Whether `mr` is one of kBlockHeights.
constexpr bool is_block_height(int mr) {
  for (int h : kBlockHeights)
    if (h == mr)
      return true;
  return false;
}

/// Blocks of `mr` output channels per group.
inline index_t packed_blocks(int cout_g, int mr) {
  return (cout_g + mr - 1) / mr;
}

/// Floats of a packed weight tensor.
inline index_t packed_weight_size(int groups, int cout_g, index_t k, int mr) {
  return index_t(groups) * packed_blocks(cout_g, mr) * k * mr;
}

/// Offset of W[g][oc][kk] in the packed tensor.
inline index_t packed_weight_offset(int cout_g, index_t k, int mr, int g,
                                    int oc, index_t kk) {
  return ((index_t(g) * packed_blocks(cout_g, mr) + oc / mr) * k + kk) * mr +
         oc % mr;
}

/// Calls f(plain, packed) for every weight of a blocked layout: its offset
/// in PyTorch's [G x CG][K] layout and in the packed one (pack: copy plain
/// to packed into zeros; unpack: the other way).
template <typename F>
inline void for_each_blocked(int groups, int cout_g, index_t k, int mr, F f) {
  for (int g = 0; g < groups; ++g)
    for (int oc = 0; oc < cout_g; ++oc)
      for (index_t kk = 0; kk < k; ++kk)
        f((index_t(g) * cout_g + oc) * k + kk,
          packed_weight_offset(cout_g, k, mr, g, oc, kk));
}

/// A transposed convolution for conv_transpose_phases is packed as a conv
/// of CG x kvol "output channels" (its taps, col = (ocg, kd, kh, kw)) over
/// K = CIG inputs: W[g][icg][col] (PyTorch's [Cin, Cout/G, k...]) is at
/// packed_weight_offset(CG * kvol, CIG, MR, g, col, icg). Calls f(plain,
/// packed) for every weight.
template <typename F>
inline void for_each_tap_blocked(int groups, index_t cols, int cin_g, int mr,
                                 F f) {
  for (int g = 0; g < groups; ++g)
    for (int icg = 0; icg < cin_g; ++icg)
      for (index_t col = 0; col < cols; ++col)
        f((index_t(g) * cin_g + icg) * cols + col,
          packed_weight_offset(int(cols), cin_g, mr, g, int(col), icg));
}

/// For conv_transpose_gemm, transposed convolutions are packed the other
/// way round (their GEMM has
/// the weights as B, its columns (ocg, kd, kh, kw) the vector direction):
/// W[g][icg][col] (PyTorch's [Cin, Cout/G, k...] in a group) is at
///   ((g * S + col / 32) * CIG + icg) * 32 + col % 32,   S = ceil(CG*kvol/32),
/// strips of 32 columns (kStripCols, which every micro-kernel's tile width
/// divides), zeros past the last column.
constexpr int kStripCols = 32;

/// Strips of kStripCols columns per group.
inline index_t packed_strips(index_t cols) {
  return (cols + kStripCols - 1) / kStripCols;
}

/// Floats of a strip-packed weight tensor (`cols` columns a group).
inline index_t strip_packed_size(int groups, index_t cols, int cin_g) {
  return index_t(groups) * packed_strips(cols) * cin_g * kStripCols;
}

/// Offset of W[g][icg][col] in the strip-packed tensor.
inline index_t strip_packed_offset(index_t cols, int cin_g, int g, int icg,
                                   index_t col) {
  return ((index_t(g) * packed_strips(cols) + col / kStripCols) * cin_g + icg) *
             kStripCols +
         col % kStripCols;
}

/// Calls f(plain, packed) for every weight of a strip-packed layout: its
/// offset in PyTorch's [G x CIG][cols] layout and in the packed one.
template <typename F>
inline void for_each_strip_packed(int groups, index_t cols, int cin_g, F f) {
  for (int g = 0; g < groups; ++g)
    for (int icg = 0; icg < cin_g; ++icg)
      for (index_t col = 0; col < cols; ++col)
        f((index_t(g) * cin_g + icg) * cols + col,
          strip_packed_offset(cols, cin_g, g, icg, col));
}

} // namespace kiln_rt
