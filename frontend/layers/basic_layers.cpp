// Layer types Linear, BatchNorm1d/2d/3d, LocalResponseNorm, Flatten,
// Identity and the Dropouts.
#include "frontend/layers/layer_helpers.h"

namespace kiln {
namespace {

std::vector<Value *> buildLinear(BuildContext &ctx) {
  int64_t in = ctx.args.integer("in_features");
  int64_t out = ctx.args.integer("out_features");
  if (in < 1 || out < 1)
    ctx.error("in_features and out_features must be >= 1, found " +
              std::to_string(in) + " and " + std::to_string(out));
  Value *x = ctx.input(0);
  if (x->shape.empty() || x->shape.back() != in)
    ctx.error("input of shape " + shapeToString(x->shape) +
              " does not have in_features = " + std::to_string(in) +
              " in its last dim");
  std::vector<Value *> operands = {
      x, ctx.param("weight", {out, in}, layers::fanInUniform(in))};
  if (ctx.args.boolean("bias"))
    operands.push_back(ctx.param("bias", {out}, layers::fanInUniform(in)));
  return {ctx.emit("linear", operands, {})->result()};
}

std::vector<Value *> buildBatchNorm(BuildContext &ctx) {
  int64_t c = ctx.args.integer("num_features");
  Value *x = ctx.input(0);
  int ns = ctx.spec.spatial;
  // BatchNorm1d takes [N, C] or [N, C, L]; 2d [N, C, H, W]; 3d [N, C, D, H, W].
  bool rankOk = ns == 1 ? (x->shape.size() == 2 || x->shape.size() == 3)
                        : x->shape.size() == size_t(ns) + 2;
  if (!rankOk)
    ctx.error(
        "expected a " +
        std::string(ns == 1 ? "2-d or 3-d" : std::to_string(ns + 2) + "-d") +
        " input, found shape " + shapeToString(x->shape));
  layers::checkChannels(ctx, x, c, "num_features");
  double eps = ctx.args.number("eps");
  if (!(eps > 0))
    ctx.args.node("eps").error("eps must be positive");
  if (!ctx.args.boolean("track_running_stats")) {
    // No running statistics: PyTorch normalises with the batch's own.
    std::vector<Value *> operands = {x};
    if (ctx.args.boolean("affine")) {
      operands.push_back(ctx.param("weight", {c}, {1, 1}));
      operands.push_back(ctx.param("bias", {c}, {0, 0}));
    }
    if (numElements(x->shape) / c < 2)
      ctx.error("batch statistics need more than one value per channel, "
                "found input shape " +
                shapeToString(x->shape));
    return {
        ctx.emit("batch_norm_batch_stats", operands, {{"eps", eps}})->result()};
  }
  std::vector<Value *> operands = {x,
                                   ctx.param("running_mean", {c}, {0, 0}, true),
                                   ctx.param("running_var", {c}, {1, 1}, true)};
  if (ctx.args.boolean("affine")) {
    operands.push_back(ctx.param("weight", {c}, {1, 1}));
    operands.push_back(ctx.param("bias", {c}, {0, 0}));
  }
  ctx.ignoreParam("num_batches_tracked");
  return {ctx.emit("batch_norm", operands, {{"eps", eps}})->result()};
}

std::vector<Value *> buildLrn(BuildContext &ctx) {
  Value *x = ctx.input(0);
  if (x->shape.size() < 3)
    ctx.error("expected an input of rank 3 or more, found shape " +
              shapeToString(x->shape));
  int64_t size = ctx.args.integer("size");
  if (size < 1)
    ctx.args.node("size").error("size must be >= 1, found " +
                                std::to_string(size));
  return {ctx.emit("local_response_norm", {x},
                   {{"size", size},
                    {"alpha", ctx.args.number("alpha")},
                    {"beta", ctx.args.number("beta")},
                    {"k", ctx.args.number("k")}})
              ->result()};
}

std::vector<Value *> buildFlatten(BuildContext &ctx) {
  return {layers::flatten(ctx, ctx.input(0), "start_dim", "end_dim")};
}

/// Identity, the Dropouts: an `identity` op (the remove-noops pass drops
/// it), so that the unoptimised graph mirrors the model.
std::vector<Value *> buildIdentity(BuildContext &ctx) {
  return {ctx.emit("identity", {ctx.input(0)}, {})->result()};
}

std::vector<std::string> weightAndBias(const Args &args) {
  if (args.boolean("bias"))
    return {"weight", "bias"};
  return {"weight"};
}

std::vector<std::string> affineParams(const Args &args) {
  if (args.boolean("affine"))
    return {"weight", "bias"};
  return {};
}

} // namespace

void addBasicLayers(std::vector<OpSpec> &t) {
  t.push_back({"Linear",
               {{"in_features", ArgKind::Int, nullptr},
                {"out_features", ArgKind::Int, nullptr},
                {"bias", ArgKind::Bool, "true"}},
               0,
               1,
               1,
               false,
               false,
               buildLinear,
               weightAndBias});
  const char *bn[] = {"BatchNorm1d", "BatchNorm2d", "BatchNorm3d"};
  for (int n = 1; n <= 3; ++n)
    t.push_back({bn[n - 1],
                 {{"num_features", ArgKind::Int, nullptr},
                  {"eps", ArgKind::Float, "1e-5"},
                  {"momentum", ArgKind::Float, "0.1", {}, true},
                  {"affine", ArgKind::Bool, "true"},
                  {"track_running_stats", ArgKind::Bool, "true"}},
                 n,
                 1,
                 1,
                 false,
                 false,
                 buildBatchNorm,
                 affineParams});
  t.push_back(
      {"Flatten",
       {{"start_dim", ArgKind::Int, "1"}, {"end_dim", ArgKind::Int, "-1"}},
       0,
       1,
       1,
       false,
       false,
       buildFlatten});
  t.push_back({"Identity", {}, 0, 1, 1, false, true, buildIdentity});
  t.push_back({"LocalResponseNorm",
               {{"size", ArgKind::Int, nullptr},
                {"alpha", ArgKind::Float, "0.0001"},
                {"beta", ArgKind::Float, "0.75"},
                {"k", ArgKind::Float, "1.0"}},
               0,
               1,
               1,
               false,
               false,
               buildLrn});
  for (const char *d :
       {"Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout"})
    t.push_back(
        {d,
         {{"p", ArgKind::Float, "0.5"}, {"inplace", ArgKind::Bool, "false"}},
         0,
         1,
         1,
         false,
         false,
         buildIdentity});
}

} // namespace kiln
