// What `conv` and `conv_transpose` share: their geometry in the runtime's
// three spatial slots and the ConvParams kernel call built from it.
#pragma once

#include "ir/op_def.h"
#include "ir/ops/conv_reference.h"

#include <array>

namespace kiln::ops {


/// The geometry of a conv-like op (input operand 0, weight operand 1,
/// `stride`, `dilation`, `groups` attributes); `padBegin` are the paddings
/// before each spatial dim.
ConvGeom convGeometry(const Op &op, const std::vector<int64_t> &padBegin);

/// The geometry fields every conv kernel's parameter struct starts with
/// (n, cin, cout, groups, in, out, k, stride, pad, dil).
std::vector<KernelParam> geometryFields(const ConvGeom &g);

/// The call of runtime kernel `kernel` (conv or conv_transpose) with its
/// ConvParams, fused epilogue and (input, weight, bias, residual, result).
std::vector<KernelCall> convKernelCall(const Op &op, const char *kernel,
                                       const ConvGeom &g);

/// The result shape of a conv_transpose-like op with weight shape `w`
/// ([Cin, Cout/groups, k...]) and conv_transpose's attributes: checks them
/// (and the epilogue) as conv_transpose's shape inference does.
Shape convTransposeShape(const Op &op, const Shape &w);

} // namespace kiln::ops
