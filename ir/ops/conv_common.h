// What `conv` and `conv_transpose` share: their geometry in the runtime's
// three spatial slots and the ConvParams kernel call built from it.
#pragma once

#include "ir/op_def.h"
#include "ir/ops/conv_reference.h"

#include <array>

namespace kiln::ops {

/// The geometry of a conv-like op (input operand 0, `stride`, `dilation`,
/// `groups` attributes) whose unpacked weight shape is `kernel`;
/// `padBegin` are the paddings before each spatial dim.
ConvGeom convGeometry(const Op &op, const Shape &kernel,
                      const std::vector<int64_t> &padBegin);

/// The same with the weight operand's shape as the kernel.
ConvGeom convGeometry(const Op &op, const std::vector<int64_t> &padBegin);

/// The geometry fields every conv kernel's parameter struct starts with
/// (n, cin, cout, groups, in, out, k, stride, pad, dil).
std::vector<KernelParam> geometryFields(const ConvGeom &g);

/// The call of runtime kernel `kernel` (conv or conv_transpose) with its
/// ConvParams, fused epilogue and (input, weight, bias, residual, result).
std::vector<KernelCall> convKernelCall(const Op &op, const char *kernel,
                                       const ConvGeom &g);

/// The result shape of a conv-like op with weight shape `w` ([Cout,
/// Cin/groups, k...]) and conv's attributes: checks them, the bias and the
/// epilogue as conv's shape inference does.
Shape convShape(const Op &op, const Shape &w);

/// The result shape of a conv_transpose-like op with weight shape `w`
/// ([Cin, Cout/groups, k...]) and conv_transpose's attributes: checks them
/// (and the epilogue) as conv_transpose's shape inference does.
Shape convTransposeShape(const Op &op, const Shape &w);

/// Columns of a transposed conv's GEMM in a group (Cout/groups x kernel
/// volume) for its unpacked weight shape `kernel` ([Cin, Cout/groups, k...]).
int64_t transposeColumns(const std::vector<int64_t> &kernel);

/// Shape inference of a packed transposed conv (conv_transpose_gemm,
/// conv_transpose_phases): checks `kernel`, `mr` and conv_transpose's
/// rules, then that the packed weight has shape `packed(kernel, mr)`
/// (`layout` names its dims in the error); returns the result shape.
Shape inferPackedConvTranspose(const Op &op,
                               Shape (*packed)(const std::vector<int64_t> &,
                                               int64_t, int64_t),
                               const char *layout);

/// Reference evaluation of a packed transposed conv whose weights
/// `unpack` writes back in PyTorch's layout (w, packed).
void evalPackedConvTranspose(const Op &op, const std::vector<const float *> &in,
                             const std::vector<float *> &out,
                             void (*unpack)(const Op &, const float *,
                                            float *));

/// The attributes of a packed transposed conv: conv_transpose's, `kernel`,
/// `mr` and the epilogue's.
std::vector<AttrSpec> packedConvTransposeAttrs();

/// Multiply-accumulates of a packed transposed conv.
int64_t macsPackedConvTranspose(const Op &op);

/// The call of a packed transposed-conv kernel (`kernel` = NAME_mrN) of
/// op `op` (attributes `kernel`, `mr`, conv_transpose's and the epilogue's)
/// with its ConvTransposeGemmParams, (input, packed weight, bias, residual,
/// result, scratch) and `scratchFloats` floats of scratch.
std::vector<KernelCall> convTransposeGemmCall(const Op &op,
                                              const std::string &kernel,
                                              int64_t scratchFloats);

/// For pack-weights: the block height (of kiln_rt::kBlockHeights) with the
/// fewest padded rows for `rows` rows, then the tallest, among those the
/// target's registers hold (4 always).
int chooseBlockHeight(int64_t rows, const TileTarget &t);

/// For pack-weights: the k chunk for `k` terms, so that a packed strip (kc
/// x tile columns) fills at most half of L1; all of k when it is at most
/// 1.5 chunks, else even chunks.
int chooseKChunk(int64_t k, const TileTarget &t);

/// For pack-weights: the Winograd output tile (2 or 4) that pays for conv
/// `op` on target `t` by the cost model of conv_winograd.cpp, or 0 (not a
/// 3x3 stride-1 dense conv on constant weights, or direct is cheaper).
int chooseWinogradTile(const Op &op, const TileTarget &t);

/// For pack-weights: conv `op` replaced by a conv_winograd of tile `m` on
/// filters transformed and packed at compile time.
Op *packWinograd(Graph &g, Op &op, const TileTarget &t, int m);

/// For pack-weights: appends op `def` with `op`'s operands (weight
/// `packed`), attributes, `kernel` (the unpacked weight shape) and `extra`,
/// and gives it `op`'s uses and result name.
Op *replaceWithPacked(Graph &g, Op &op, const char *def, Value *packed,
                      const AttrMap &extra);

} // namespace kiln::ops
