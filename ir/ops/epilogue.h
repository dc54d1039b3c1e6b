// Fused epilogues: the activation (and residual addition) that conv-like
// ops apply to each output as they produce it, once the fusion passes have
// folded an activation op or a residual `add` into them.
#pragma once

#include "ir/op_def.h"

#include <string>

namespace kiln::ops {

/// The optional attributes of an op that can carry an epilogue.
std::vector<AttrSpec> epilogueAttrs();

/// `attrs` followed by the epilogue attributes.
std::vector<AttrSpec> withEpilogueAttrs(std::vector<AttrSpec> attrs);

/// The runtime epilogue struct for `op`'s fused activation (none if absent).
KernelParam epilogueParam(const Op &op);

/// Reference semantics of the epilogue: y[i] = act(y[i] + residual[i]) for
/// `n` values (`residual` may be null).
void applyEpilogue(const Op &op, const float *residual, float *y, int64_t n);

/// Checks the fused activation's name and arguments, and that a residual
/// operand (index `residualIndex`) has the result's shape.
void verifyEpilogue(const Op &op, size_t residualIndex, const Shape &result);

/// The runtime id of activation `name` and its reference function; false
/// if `name` is not an activation that can be fused.
bool activationInfo(const std::string &name, int &runtimeId,
                    double (**reference)(double, double, double));

} // namespace kiln::ops
