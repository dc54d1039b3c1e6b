// Helpers shared by the frontend's layer and functional-op builders.
#pragma once

#include "frontend/build_context.h"

#include <functional>

namespace kiln::layers {

/// Runs `body` on `x` with a batch dimension: an input of rank spatial+1
/// (no batch) is viewed as a batch of one and the result viewed back, as
/// PyTorch does for unbatched convolution, pooling and linear inputs.
Value *withBatch(BuildContext &ctx, Value *x, int spatial,
                 const std::function<Value *(Value *)> &body);

/// A `reshape` op to `shape` (or `x` itself when the shape is unchanged).
Value *reshape(BuildContext &ctx, Value *x, const Shape &shape,
               const std::string &suffix = "");

/// The `flatten` of dims start..end (PyTorch's wrap rules, errors located
/// at the argument nodes).
Value *flatten(BuildContext &ctx, Value *x, const char *startArg,
               const char *endArg);

/// Uniform bound 1/sqrt(fan_in) (PyTorch's default for conv and linear).
DefaultInit fanInUniform(int64_t fanIn);

/// Checks that `x` has `channels` at dim 1, naming the layer argument.
void checkChannels(BuildContext &ctx, Value *x, int64_t channels,
                   const char *argName);

} // namespace kiln::layers
