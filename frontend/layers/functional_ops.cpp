// Functional ops of forward steps: reshaping (flatten, view, reshape),
// elementwise arithmetic with broadcasting (add, sub, mul, div), cat,
// reductions (sum, mean), and dropout (the identity at inference). Activations
// and pools are added by their families' files.
#include "frontend/layers/layer_helpers.h"

#include <algorithm>

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
      node.error("shape " + node.json().dump() +
                 " is invalid for an input of " + std::to_string(n) +
                 " elements (shape " + shapeToString(x->shape) + ")");
    shape[size_t(inferred)] = n / known;
  } else if (known != n) {
    node.error("shape " + node.json().dump() + " is invalid for an input of " +
               std::to_string(n) + " elements (shape " +
               shapeToString(x->shape) + ")");
  }
  return {layers::reshape(ctx, x, shape)};
}

/// Identity, the Dropouts: an `identity` op (the remove-noops pass drops
/// it), so that the unoptimised graph mirrors the model.
std::vector<Value *> buildIdentity(BuildContext &ctx) {
  return {ctx.emit("identity", {ctx.input(0)}, {})->result()};
}

/// add / sub / mul / div: two operands, tensors or numbers, broadcasting.
std::vector<Value *> buildBinary(BuildContext &ctx) {
  std::vector<Value *> v;
  for (const Operand &o : ctx.inputs)
    v.push_back(o.value ? o.value : ctx.scalar(o.scalar));
  if (!ctx.inputs[0].value && !ctx.inputs[1].value)
    ctx.error("at least one operand must be a tensor");
  AttrMap attrs;
  if (ctx.spec.name == "add" || ctx.spec.name == "sub")
    attrs["alpha"] = ctx.args.number("alpha");
  return {ctx.emit(ctx.spec.name.c_str(), v, attrs)->result()};
}

std::vector<Value *> buildCat(BuildContext &ctx) {
  std::vector<Value *> v;
  for (size_t i = 0; i < ctx.inputs.size(); ++i)
    v.push_back(ctx.input(i));
  int64_t d = ctx.args.integer("dim");
  int64_t w = wrapDim(d, int64_t(v[0]->shape.size()));
  if (w < 0 || v[0]->shape.empty())
    ctx.args.node("dim").error("dim " + std::to_string(d) +
                               " is out of range for an input of shape " +
                               shapeToString(v[0]->shape));
  if (v.size() == 1)
    return {v[0]};
  return {ctx.emit("cat", v, {{"dim", w}})->result()};
}

/// sum / mean over `dim` (an int, a list, or absent for all dims).
std::vector<Value *> buildReduce(BuildContext &ctx) {
  Value *x = ctx.input(0);
  int64_t rank = int64_t(x->shape.size());
  std::vector<int64_t> dims;
  JsonNode dn = ctx.args.node("dim");
  if (dn.isNull()) {
    for (int64_t i = 0; i < rank; ++i)
      dims.push_back(i);
  } else {
    std::vector<int64_t> given =
        dn.isArray() ? dn.asIntList() : std::vector<int64_t>{dn.asInt()};
    for (int64_t d : given) {
      int64_t w = wrapDim(d, rank);
      if (w < 0)
        dn.error("dim " + std::to_string(d) +
                 " is out of range for an input of shape " +
                 shapeToString(x->shape));
      if (std::find(dims.begin(), dims.end(), w) != dims.end())
        dn.error("dim " + std::to_string(d) + " appears twice");
      dims.push_back(w);
    }
    std::sort(dims.begin(), dims.end());
  }
  if (rank == 0)
    dims.clear();
  return {ctx.emit(ctx.spec.name.c_str(), {x},
                   {{"dims", dims}, {"keepdim", ctx.args.boolean("keepdim")}})
              ->result()};
}

} // namespace

void addFunctionalOps(std::vector<OpSpec> &t) {
  t.push_back(
      {"flatten",
       {{"start_dim", ArgKind::Int, "0"}, {"end_dim", ArgKind::Int, "-1"}},
       0,
       1,
       1,
       false,
       false,
       buildFlatten});
  for (const char *n : {"view", "reshape"})
    t.push_back({n,
                 {{"shape", ArgKind::IntList, nullptr}},
                 0,
                 1,
                 1,
                 false,
                 false,
                 buildView});
  for (const char *n : {"add", "sub"})
    t.push_back({n,
                 {{"alpha", ArgKind::Float, "1"}},
                 0,
                 2,
                 2,
                 true,
                 false,
                 buildBinary});
  for (const char *n : {"mul", "div"})
    t.push_back({n, {}, 0, 2, 2, true, false, buildBinary});
  t.push_back({"cat",
               {{"dim", ArgKind::Int, "0"}},
               0,
               1,
               1 << 16,
               false,
               false,
               buildCat});
  for (const char *n : {"sum", "mean"})
    t.push_back(
        {n,
         {{"dim", ArgKind::Any, "null"}, {"keepdim", ArgKind::Bool, "false"}},
         0,
         1,
         1,
         false,
         false,
         buildReduce});
  t.push_back({"dropout",
               {{"p", ArgKind::Float, "0.5"},
                {"training", ArgKind::Bool, "false"},
                {"inplace", ArgKind::Bool, "false"}},
               0,
               1,
               1,
               false,
               false,
               buildIdentity});
}

} // namespace kiln
