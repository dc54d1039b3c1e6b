// What `conv` and `conv_transpose` share: their geometry in the runtime's
// three spatial slots and the ConvParams kernel call built from it.
#pragma once

#include "ir/op_def.h"

#include <array>

namespace kiln::ops {

/// Shapes and hyper-parameters of a conv-like op, spatial values in the
/// (depth, height, width) slots of the runtime kernels.
struct ConvGeom {
  std::array<int64_t, 3> in, out, k, s, p, d;
  int64_t n, cin, cout, groups;
};

/// The geometry of a conv-like op (input operand 0, weight operand 1,
/// `stride`, `dilation`, `groups` attributes); `padBegin` are the paddings
/// before each spatial dim.
ConvGeom convGeometry(const Op &op, const std::vector<int64_t> &padBegin);

/// The call of runtime kernel `kernel` (conv or conv_transpose) with its
/// ConvParams, fused epilogue and (input, weight, bias, residual, result).
std::vector<KernelCall> convKernelCall(const Op &op, const char *kernel,
                                       const ConvGeom &g);

} // namespace kiln::ops
