// Layer types LayerNorm and GroupNorm, and the functional layer_norm: the
// normalisations whose statistics come from each sample (IR ops layer_norm
// and group_norm).
#include "frontend/layers/layer_helpers.h"

#include <algorithm>
#include <cmath>

namespace kiln {
namespace {

/// `eps` as PyTorch takes it: any float; Kiln refuses negative and
/// non-finite values, which only make NaNs.
double epsOf(BuildContext &ctx) {
  double eps = ctx.args.number("eps");
  if (!(eps >= 0) || !std::isfinite(eps))
    ctx.args.node("eps").error("eps must be a finite number >= 0, found " +
                               ctx.args.node("eps").describe());
  return eps;
}

/// normalized_shape: an integer or a list of integers (PyTorch's int or
/// sequence), each >= 1.
Shape normalizedShape(BuildContext &ctx) {
  JsonNode n = ctx.args.node("normalized_shape");
  if (!n.isArray() && !n.json().is_number_integer())
    n.error("expected an integer or a list of integers, found " + n.describe());
  Shape s = n.isArray() ? n.asIntList() : Shape{n.asInt()};
  if (s.empty())
    n.error("normalized_shape needs at least one dim, found []");
  for (int64_t d : s)
    if (d < 1 || d > kMaxElements)
      n.error("normalized_shape entries must be between 1 and 2^31 - 1, "
              "found " +
              n.json().dump());
  return s;
}

/// Checks that `shape` is the trailing dims of `x`, as F.layer_norm does.
void checkTrailing(BuildContext &ctx, Value *x, const Shape &shape) {
  const Shape &xs = x->shape;
  if (shape.size() > xs.size() ||
      !std::equal(shape.begin(), shape.end(), xs.end() - int64_t(shape.size())))
    ctx.args.node("normalized_shape")
        .error("normalized_shape " + shapeToString(shape) +
               " must be the last dims of the input: expected an input of "
               "shape [*, " +
               shapeToString(shape).substr(1) + ", found shape " +
               shapeToString(xs));
}

std::vector<Value *> buildLayerNorm(BuildContext &ctx) {
  Value *x = ctx.input(0);
  Shape shape = normalizedShape(ctx);
  checkTrailing(ctx, x, shape);
  double eps = epsOf(ctx);
  std::vector<Value *> operands = {x};
  if (ctx.args.boolean("elementwise_affine")) {
    operands.push_back(ctx.param("weight", shape, {1, 1}));
    operands.push_back(ctx.param("bias", shape, {0, 0}));
  }
  return {ctx.emit("layer_norm", operands,
                   {{"normalized_shape", shape}, {"eps", eps}})
              ->result()};
}

/// F.layer_norm(input, normalized_shape, weight, bias, eps): weight and bias
/// are the optional second and third entries of `in`.
std::vector<Value *> buildLayerNormFunctional(BuildContext &ctx) {
  Value *x = ctx.input(0);
  Shape shape = normalizedShape(ctx);
  checkTrailing(ctx, x, shape);
  double eps = epsOf(ctx);
  std::vector<Value *> operands = {x};
  const char *what[] = {"input", "weight", "bias"};
  for (size_t i = 1; i < ctx.inputs.size(); ++i) {
    Value *v = ctx.input(i);
    if (v->shape != shape)
      ctx.step->at("in")[i].error(
          std::string(what[i]) + " of shape " + shapeToString(v->shape) +
          " does not match normalized_shape " + shapeToString(shape));
    operands.push_back(v);
  }
  return {ctx.emit("layer_norm", operands,
                   {{"normalized_shape", shape}, {"eps", eps}})
              ->result()};
}

std::vector<Value *> buildGroupNorm(BuildContext &ctx) {
  int64_t groups = ctx.args.integer("num_groups");
  int64_t channels = ctx.args.integer("num_channels");
  if (groups < 1)
    ctx.args.node("num_groups")
        .error("num_groups must be >= 1, found " + std::to_string(groups));
  if (channels < 1)
    ctx.args.node("num_channels")
        .error("num_channels must be >= 1, found " + std::to_string(channels));
  if (channels % groups != 0)
    ctx.args.node("num_groups")
        .error("num_channels " + std::to_string(channels) +
               " must be divisible by num_groups, found num_groups " +
               std::to_string(groups));
  double eps = epsOf(ctx);
  Value *x = ctx.input(0);
  if (x->shape.size() < 2)
    ctx.error("expected an input of rank >= 2 (N, C, ...), found shape " +
              shapeToString(x->shape));
  layers::checkChannels(ctx, x, channels, "num_channels");
  // F.group_norm's _verify_batch_size, which PyTorch applies in eval() too.
  if (numElements(x->shape) / groups == 1)
    ctx.error("PyTorch refuses an input with a single value per group and "
              "sample (it expects more than 1 value per channel), found "
              "input shape " +
              shapeToString(x->shape) + " with num_groups " +
              std::to_string(groups));
  std::vector<Value *> operands = {x};
  if (ctx.args.boolean("affine")) {
    operands.push_back(ctx.param("weight", {channels}, {1, 1}));
    operands.push_back(ctx.param("bias", {channels}, {0, 0}));
  }
  return {
      ctx.emit("group_norm", operands, {{"num_groups", groups}, {"eps", eps}})
          ->result()};
}

std::vector<std::string> layerNormParams(const Args &args) {
  if (args.boolean("elementwise_affine"))
    return {"weight", "bias"};
  return {};
}

std::vector<std::string> groupNormParams(const Args &args) {
  if (args.boolean("affine"))
    return {"weight", "bias"};
  return {};
}

} // namespace

void addNormLayers(std::vector<OpSpec> &t) {
  t.push_back({"LayerNorm",
               {{"normalized_shape", ArgKind::Any, nullptr},
                {"eps", ArgKind::Float, "1e-5"},
                {"elementwise_affine", ArgKind::Bool, "true"}},
               0,
               1,
               1,
               false,
               false,
               buildLayerNorm,
               layerNormParams});
  t.push_back({"GroupNorm",
               {{"num_groups", ArgKind::Int, nullptr},
                {"num_channels", ArgKind::Int, nullptr},
                {"eps", ArgKind::Float, "1e-5"},
                {"affine", ArgKind::Bool, "true"}},
               0,
               1,
               1,
               false,
               false,
               buildGroupNorm,
               groupNormParams});
}

void addNormFunctionals(std::vector<OpSpec> &t) {
  t.push_back({"layer_norm",
               {{"normalized_shape", ArgKind::Any, nullptr},
                {"eps", ArgKind::Float, "1e-5"}},
               0,
               1,
               3,
               false,
               false,
               buildLayerNormFunctional});
}

} // namespace kiln
