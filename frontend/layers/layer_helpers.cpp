// Helpers shared by the frontend's layer and functional-op builders.
#include "frontend/layers/layer_helpers.h"

#include <cmath>

namespace kiln::layers {

Value *reshape(BuildContext &ctx, Value *x, const Shape &shape,
               const std::string &suffix) {
  if (x->shape == shape)
    return x;
  return ctx.emit("reshape", {x}, {{"shape", shape}}, suffix)->result();
}

Value *withBatch(BuildContext &ctx, Value *x, int spatial,
                 const std::function<Value *(Value *)> &body) {
  if (int(x->shape.size()) != spatial + 1)
    return body(x);
  Shape batched = x->shape;
  batched.insert(batched.begin(), 1);
  Value *y = body(reshape(ctx, x, batched, ".batched"));
  Shape unbatched(y->shape.begin() + 1, y->shape.end());
  return reshape(ctx, y, unbatched, ".unbatched");
}

Value *flatten(BuildContext &ctx, Value *x, const char *startArg,
               const char *endArg) {
  int64_t rank = int64_t(x->shape.size());
  auto dim = [&](const char *arg) {
    int64_t d = ctx.args.integer(arg);
    int64_t w = wrapDim(d, rank);
    if (w < 0)
      ctx.args.node(arg).error(std::string(arg) + " " + std::to_string(d) +
                               " is out of range for an input of shape " +
                               shapeToString(x->shape));
    return w;
  };
  if (rank == 0)
    return reshape(ctx, x, {1});
  int64_t s = dim(startArg), e = dim(endArg);
  if (s > e)
    ctx.args.node(startArg).error("start_dim " + std::to_string(s) +
                                  " comes after end_dim " + std::to_string(e) +
                                  " for an input of shape " +
                                  shapeToString(x->shape));
  Shape out(x->shape.begin(), x->shape.begin() + s);
  int64_t n = 1;
  for (int64_t i = s; i <= e; ++i)
    n *= x->shape[size_t(i)];
  out.push_back(n);
  out.insert(out.end(), x->shape.begin() + e + 1, x->shape.end());
  return reshape(ctx, x, out);
}

DefaultInit fanInUniform(int64_t fanIn) {
  double b = fanIn > 0 ? 1.0 / std::sqrt(double(fanIn)) : 0.0;
  return {-b, b};
}

void checkChannels(BuildContext &ctx, Value *x, int64_t channels,
                   const char *argName) {
  if (x->shape.size() < 2 || x->shape[1] != channels)
    ctx.error("input of shape " + shapeToString(x->shape) + " does not have " +
              argName + " = " + std::to_string(channels) +
              " channels at dim 1");
}

} // namespace kiln::layers
