// Layer types MaxPool1d/2d/3d, AvgPool1d/2d/3d, MaxUnpool1d/2d/3d,
// AdaptiveAvgPool1d/2d/3d and AdaptiveMaxPool1d/2d/3d, and their functional
// forms (max_poolNd, avg_poolNd, adaptive_avg_poolNd, adaptive_max_poolNd).
#include "frontend/layers/layer_helpers.h"

#include <algorithm>

namespace kiln {
namespace {

/// stride defaults to (and `null` means) kernel_size.
std::vector<int64_t> strideOf(BuildContext &ctx) {
  JsonNode s = ctx.args.node("stride");
  if (s.isNull() || (s.isArray() && s.size() == 0))
    return ctx.args.spatial("kernel_size");
  return ctx.args.spatial("stride");
}

void checkAtLeast(BuildContext &ctx, const char *arg,
                  const std::vector<int64_t> &v, int64_t min) {
  for (int64_t x : v)
    if (x < min)
      ctx.args.node(arg).error(std::string(arg) +
                               " entries must be >= " + std::to_string(min) +
                               ", found " + ctx.args.node(arg).json().dump());
}

/// Checks the input rank of a pooling (batched or not) inside withBatch.
void checkPoolInput(BuildContext &ctx, Value *x, int ns) {
  if (int(x->shape.size()) != ns + 2)
    ctx.error("expected an input of rank " + std::to_string(ns + 1) + " or " +
              std::to_string(ns + 2) + ", found shape " +
              shapeToString(x->shape));
}

/// Runs a one- or two-result op under withBatch (unbatched inputs).
std::vector<Value *> pooled(BuildContext &ctx, Value *x, int ns, const char *op,
                            const char *opIndices, bool indices,
                            const AttrMap &attrs,
                            std::vector<Value *> extra = {}) {
  std::vector<Value *> results;
  Value *y = layers::withBatch(ctx, x, ns, [&](Value *xb) {
    checkPoolInput(ctx, xb, ns);
    std::vector<Value *> operands = {xb};
    for (Value *e : extra)
      operands.push_back(
          xb->shape.size() == e->shape.size()
              ? e
              : layers::reshape(ctx, e, xb->shape, ".batched_indices"));
    Op *o = ctx.emit(indices ? opIndices : op, operands, attrs);
    results = o->results;
    return o->result(0);
  });
  if (!indices)
    return {y};
  // Indices follow the same unbatching as the values.
  Value *idx = results[1];
  if (idx->shape.size() != y->shape.size())
    idx = layers::reshape(ctx, idx, y->shape, ".indices");
  return {y, idx};
}

std::vector<Value *> buildPool(BuildContext &ctx, bool max) {
  int ns = ctx.spec.spatial;
  auto k = ctx.args.spatial("kernel_size"), p = ctx.args.spatial("padding");
  auto s = strideOf(ctx);
  checkAtLeast(ctx, "kernel_size", k, 1);
  checkAtLeast(ctx, "stride", s, 1);
  for (int i = 0; i < ns; ++i)
    if (p[i] < 0 || p[i] > k[i] / 2)
      ctx.args.node("padding").error(
          "padding " + std::to_string(p[i]) +
          " must be >= 0 and at most half the kernel size " +
          std::to_string(k[i]));
  AttrMap attrs = {{"kernel", k},
                   {"stride", s},
                   {"padding", p},
                   {"ceil_mode", ctx.args.boolean("ceil_mode")}};
  bool indices = false;
  if (max) {
    indices = ctx.args.boolean("return_indices");
    auto d = ctx.args.spatial("dilation");
    checkAtLeast(ctx, "dilation", d, 1);
    attrs["dilation"] = d;
  } else {
    attrs["count_include_pad"] = ctx.args.boolean("count_include_pad");
    int64_t div = 0;
    if (ns > 1 && !ctx.args.node("divisor_override").isNull()) {
      div = ctx.args.integer("divisor_override");
      if (div < 1)
        ctx.args.node("divisor_override")
            .error("divisor_override must be >= 1, found " +
                   std::to_string(div));
    }
    attrs["divisor_override"] = div;
  }
  return pooled(ctx, ctx.input(0), ns, max ? "max_pool" : "avg_pool",
                "max_pool_indices", indices, attrs);
}

std::vector<Value *> buildUnpool(BuildContext &ctx) {
  int ns = ctx.spec.spatial;
  auto k = ctx.args.spatial("kernel_size"), p = ctx.args.spatial("padding");
  auto s = strideOf(ctx);
  checkAtLeast(ctx, "kernel_size", k, 1);
  checkAtLeast(ctx, "stride", s, 1);
  checkAtLeast(ctx, "padding", p, 0);
  Value *x = ctx.input(0), *idx = ctx.input(1);
  if (idx->elemType != ElemType::I32)
    ctx.error("the second input must be the indices of a max pooling with "
              "return_indices=true");
  if (idx->shape != x->shape)
    ctx.error("indices shape " + shapeToString(idx->shape) +
              " does not match the input shape " + shapeToString(x->shape));
  if (int(x->shape.size()) != ns + 1 && int(x->shape.size()) != ns + 2)
    ctx.error("expected an input of rank " + std::to_string(ns + 1) + " or " +
              std::to_string(ns + 2) + ", found shape " +
              shapeToString(x->shape));
  size_t off = x->shape.size() - size_t(ns);
  std::vector<int64_t> out(static_cast<size_t>(ns), 0);
  for (int i = 0; i < ns; ++i)
    out[size_t(i)] = (x->shape[off + size_t(i)] - 1) * s[size_t(i)] -
                     2 * p[size_t(i)] + k[size_t(i)];
  if (ctx.step && ctx.step->has("output_size")) {
    JsonNode os = ctx.step->at("output_size");
    std::vector<int64_t> want = os.asIntList();
    if (want.size() == x->shape.size())
      want.erase(want.begin(), want.begin() + long(off));
    if (want.size() != size_t(ns))
      os.error("expected " + std::to_string(ns) +
               " spatial sizes or the full "
               "shape, found " +
               os.describe());
    // PyTorch's range for MaxUnpool: default - stride < size < default +
    // stride (sizes below the default arise from ceil_mode pooling).
    for (int i = 0; i < ns; ++i) {
      int64_t lo = std::max<int64_t>(1, out[size_t(i)] - s[size_t(i)] + 1),
              hi = out[size_t(i)] + s[size_t(i)] - 1;
      if (want[size_t(i)] < lo || want[size_t(i)] > hi)
        os.error("requested output size " + std::to_string(want[size_t(i)]) +
                 " in spatial dim " + std::to_string(i) +
                 " is outside the valid range [" + std::to_string(lo) + ", " +
                 std::to_string(hi) + "] for input shape " +
                 shapeToString(x->shape));
    }
    out = want;
  }
  for (int i = 0; i < ns; ++i)
    if (out[size_t(i)] < 1)
      ctx.error("output size " + shapeToString(out) +
                " has a dimension below 1");
  return pooled(ctx, x, ns, "max_unpool", "max_unpool", false,
                {{"output_size", out}}, {idx});
}

std::vector<Value *> buildAdaptive(BuildContext &ctx, bool max) {
  int ns = ctx.spec.spatial;
  Value *x = ctx.input(0);
  if (int(x->shape.size()) != ns + 1 && int(x->shape.size()) != ns + 2)
    ctx.error("expected an input of rank " + std::to_string(ns + 1) + " or " +
              std::to_string(ns + 2) + ", found shape " +
              shapeToString(x->shape));
  JsonNode os = ctx.args.node("output_size");
  size_t off = x->shape.size() - size_t(ns);
  std::vector<int64_t> out(static_cast<size_t>(ns), 0);
  for (int i = 0; i < ns; ++i) {
    JsonNode e = os.isArray() ? os[size_t(i)] : os;
    out[size_t(i)] = e.isNull() ? x->shape[off + size_t(i)] : e.asInt();
    if (out[size_t(i)] < 1)
      e.error("output_size entries must be >= 1 (or null), found " +
              e.describe());
  }
  bool indices = max && ctx.args.boolean("return_indices");
  return pooled(ctx, x, ns, max ? "adaptive_max_pool" : "adaptive_avg_pool",
                "adaptive_max_pool_indices", indices, {{"output_size", out}});
}

std::vector<Value *> buildMaxPool(BuildContext &ctx) {
  return buildPool(ctx, true);
}
std::vector<Value *> buildAvgPool(BuildContext &ctx) {
  return buildPool(ctx, false);
}
std::vector<Value *> buildAdaptiveMax(BuildContext &ctx) {
  return buildAdaptive(ctx, true);
}
std::vector<Value *> buildAdaptiveAvg(BuildContext &ctx) {
  return buildAdaptive(ctx, false);
}

std::vector<ArgSpec> maxArgs() {
  return {{"kernel_size", ArgKind::Spatial, nullptr},
          {"stride", ArgKind::Spatial, "=kernel_size"},
          {"padding", ArgKind::Spatial, "0"},
          {"dilation", ArgKind::Spatial, "1"},
          {"return_indices", ArgKind::Bool, "false"},
          {"ceil_mode", ArgKind::Bool, "false"}};
}

std::vector<ArgSpec> avgArgs(int n) {
  std::vector<ArgSpec> a = {{"kernel_size", ArgKind::Spatial, nullptr},
                            {"stride", ArgKind::Spatial, "=kernel_size"},
                            {"padding", ArgKind::Spatial, "0"},
                            {"ceil_mode", ArgKind::Bool, "false"},
                            {"count_include_pad", ArgKind::Bool, "true"}};
  if (n > 1)
    a.push_back({"divisor_override", ArgKind::Int, "null"});
  return a;
}

std::vector<ArgSpec> unpoolArgs() {
  return {{"kernel_size", ArgKind::Spatial, nullptr},
          {"stride", ArgKind::Spatial, "=kernel_size"},
          {"padding", ArgKind::Spatial, "0"}};
}

std::vector<ArgSpec> adaptiveArgs(bool max) {
  std::vector<ArgSpec> a = {{"output_size", ArgKind::Size, nullptr}};
  if (max)
    a.push_back({"return_indices", ArgKind::Bool, "false"});
  return a;
}

const char *const kDims[] = {"1d", "2d", "3d"};

/// Adds one family for 1d/2d/3d with names `prefix` + dims.
void addFamily(std::vector<OpSpec> &t, const std::string &prefix,
               const std::function<std::vector<ArgSpec>(int)> &args,
               std::vector<Value *> (*build)(BuildContext &), int inputs = 1) {
  for (int n = 1; n <= 3; ++n)
    t.push_back({prefix + kDims[n - 1], args(n), n, inputs, inputs, false,
                 false, build});
}

/// The pooling families under their layer names (`MaxPool2d`) or their
/// functional names (`max_pool2d`); the functional forms take the layers'
/// arguments and have no unpooling.
void addPools(std::vector<OpSpec> &t, bool layers) {
  addFamily(
      t, layers ? "MaxPool" : "max_pool", [](int) { return maxArgs(); },
      buildMaxPool);
  addFamily(t, layers ? "AvgPool" : "avg_pool", avgArgs, buildAvgPool);
  if (layers)
    addFamily(
        t, "MaxUnpool", [](int) { return unpoolArgs(); }, buildUnpool, 2);
  addFamily(
      t, layers ? "AdaptiveAvgPool" : "adaptive_avg_pool",
      [](int) { return adaptiveArgs(false); }, buildAdaptiveAvg);
  addFamily(
      t, layers ? "AdaptiveMaxPool" : "adaptive_max_pool",
      [](int) { return adaptiveArgs(true); }, buildAdaptiveMax);
}

} // namespace

void addPoolLayers(std::vector<OpSpec> &t) { addPools(t, true); }

void addPoolFunctionals(std::vector<OpSpec> &t) { addPools(t, false); }

} // namespace kiln
