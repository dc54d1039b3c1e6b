// Functional ops of forward steps that reshape (flatten, view, reshape) or
// do nothing at inference (dropout). Activations and pools are added by
// their families' files.
#include "frontend/layers/layer_helpers.h"

namespace kiln {
namespace {

std::vector<Value *> buildFlatten(BuildContext &ctx) {
  return {layers::flatten(ctx, ctx.input(0), "start_dim", "end_dim")};
}

std::vector<Value *> buildView(BuildContext &ctx) {
  Value *x = ctx.input(0);
  JsonNode node = ctx.args.node("shape");
  std::vector<int64_t> shape = node.asIntList();
  int64_t known = 1, inferred = -1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      if (inferred >= 0)
        node.error("only one dimension may be -1, found " + node.json().dump());
      inferred = int64_t(i);
    } else if (shape[i] < 1) {
      node.error("dimensions must be >= 1 or -1, found " + node.json().dump());
    } else {
      known *= shape[i];
    }
  }
  int64_t n = x->numElements();
  if (inferred >= 0) {
    if (n % known)
      node.error("shape " + node.json().dump() + " is invalid for an input of " +
                 std::to_string(n) + " elements (shape " +
                 shapeToString(x->shape) + ")");
    shape[size_t(inferred)] = n / known;
  } else if (known != n) {
    node.error("shape " + node.json().dump() + " is invalid for an input of " +
               std::to_string(n) + " elements (shape " +
               shapeToString(x->shape) + ")");
  }
  return {layers::reshape(ctx, x, shape)};
}

std::vector<Value *> buildIdentity(BuildContext &ctx) {
  return {ctx.input(0)};
}

} // namespace

void addFunctionalOps(std::vector<OpSpec> &t) {
  t.push_back({"flatten",
               {{"start_dim", ArgKind::Int, "0"}, {"end_dim", ArgKind::Int, "-1"}},
               0, 1, 1, false, false, buildFlatten});
  for (const char *n : {"view", "reshape"})
    t.push_back({n, {{"shape", ArgKind::IntList, nullptr}}, 0, 1, 1, false,
                 false, buildView});
  t.push_back({"dropout",
               {{"p", ArgKind::Float, "0.5"},
                {"training", ArgKind::Bool, "false"},
                {"inplace", ArgKind::Bool, "false"}},
               0, 1, 1, false, false, buildIdentity});
}

} // namespace kiln
