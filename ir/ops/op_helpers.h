// Helpers shared by op definitions: operand checks, window arithmetic of
// convolutions and poolings, and the three-slot spatial layout the runtime
// kernels use.
#pragma once

#include "ir/op_def.h"

#include <algorithm>

#include <array>
#include <string>

namespace kiln::ops {

/// Checks that operand `i` exists and has rank `rank` (or any rank if -1).
const Shape &operandShape(const Op &op, size_t i, int rank = -1);

/// Spatial values right-aligned into three (depth, height, width) slots,
/// with `fill` in the unused leading ones.
std::array<int64_t, 3> slots(const std::vector<int64_t> &v, int64_t fill);

/// A spatial window: kernel size, stride, padding before and after,
/// dilation, per spatial dim.
struct Window {
  std::vector<int64_t> kernel, stride, padBegin, padEnd, dilation;
};

/// Output size of a convolution-like window over `in` (PyTorch's formula);
/// reports a result below 1 as an error naming the dim and the inputs.
int64_t convOutSize(const Op &op, size_t dim, int64_t in, int64_t kernel,
                    int64_t stride, int64_t padBegin, int64_t padEnd,
                    int64_t dilation);

/// Output size of a pooling window, with `ceil_mode` and PyTorch's rule that
/// drops a last window starting in the right padding.
int64_t poolOutSize(const Op &op, size_t dim, int64_t in, int64_t kernel,
                    int64_t stride, int64_t pad, int64_t dilation,
                    bool ceilMode);

/// For per-channel ops: checks that operand 0 has rank >= 2 and every
/// other present operand has shape [channels]; returns operand 0's shape.
const Shape &checkChannelOperands(const Op &op);

/// Checks that an ints attribute has `n` entries, each >= `min`.
void checkInts(const Op &op, const char *attr, size_t n, int64_t min);

/// A KernelParam for a three-slot spatial array.
KernelParam slotParam(const char *name, const std::vector<int64_t> &v,
                      int64_t fill);

/// Folds a per-output-channel affine map into a conv-like op whose weight
/// is operand 1 and optional bias operand 2: new weight w * scale[c] (c =
/// channelOf(flat index of w)), new bias b * scale + shift. The op's old
/// weights stay (they may be shared); unused ones go with dead-code
/// elimination. False if the weight or bias is not a constant.
bool foldAffineIntoWeights(Op &op, Graph &g, const std::vector<double> &scale,
                           const std::vector<double> &shift,
                           int64_t (*channelOf)(const Op &op, int64_t flat));

/// Stores an int32 index in a float-sized slot of the interpreter's
/// storage (bit copy), and reads it back.
void storeIndex(float *slot, int64_t index);
int64_t loadIndex(const float *slot);

/// The epilogue struct for "no activation".
KernelParam noEpilogue();

} // namespace kiln::ops
