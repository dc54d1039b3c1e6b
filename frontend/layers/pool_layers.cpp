// Layer types MaxPool1d/2d/3d and AvgPool1d/2d/3d (and the functional
// max_poolNd / avg_poolNd, which take the same arguments).
#include "frontend/layers/layer_helpers.h"

namespace kiln {
namespace {

/// stride defaults to (and `null` means) kernel_size.
std::vector<int64_t> strideOf(BuildContext &ctx) {
  JsonNode s = ctx.args.node("stride");
  if (s.isNull() || (s.isArray() && s.size() == 0))
    return ctx.args.spatial("kernel_size");
  return ctx.args.spatial("stride");
}

std::vector<Value *> buildPool(BuildContext &ctx) {
  int ns = ctx.spec.spatial;
  bool max = std::string(ctx.spec.name).find("ax") != std::string::npos;
  auto k = ctx.args.spatial("kernel_size"), p = ctx.args.spatial("padding");
  auto s = strideOf(ctx);
  for (const char *a : {"kernel_size", "stride"})
    for (int64_t v : (std::string(a) == "stride" ? s : k))
      if (v < 1)
        ctx.args.node(a).error(std::string(a) + " entries must be >= 1, found " +
                               ctx.args.node(a).json().dump());
  for (int i = 0; i < ns; ++i)
    if (p[i] < 0 || p[i] > k[i] / 2)
      ctx.args.node("padding")
          .error("padding " + std::to_string(p[i]) +
                 " must be >= 0 and at most half the kernel size " +
                 std::to_string(k[i]));
  AttrMap attrs = {{"kernel", k},
                   {"stride", s},
                   {"padding", p},
                   {"ceil_mode", ctx.args.boolean("ceil_mode")}};
  if (max) {
    if (ctx.args.boolean("return_indices"))
      ctx.args.node("return_indices")
          .error("return_indices=true is not supported yet");
    auto d = ctx.args.spatial("dilation");
    for (int64_t v : d)
      if (v < 1)
        ctx.args.node("dilation").error("dilation entries must be >= 1");
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
  Value *y = layers::withBatch(ctx, ctx.input(0), ns, [&](Value *x) {
    if (int(x->shape.size()) != ns + 2)
      ctx.error("expected an input of rank " + std::to_string(ns + 1) +
                " or " + std::to_string(ns + 2) + ", found shape " +
                shapeToString(x->shape));
    return ctx.emit(max ? "max_pool" : "avg_pool", {x}, attrs)->result();
  });
  return {y};
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

} // namespace

void addPoolLayers(std::vector<OpSpec> &t) {
  const char *maxL[] = {"MaxPool1d", "MaxPool2d", "MaxPool3d"};
  const char *avgL[] = {"AvgPool1d", "AvgPool2d", "AvgPool3d"};
  for (int n = 1; n <= 3; ++n) {
    t.push_back({maxL[n - 1], maxArgs(), n, 1, 1, false, false, buildPool});
    t.push_back({avgL[n - 1], avgArgs(n), n, 1, 1, false, false, buildPool});
  }
}

/// The functional forms share the layers' builders.
void addPoolFunctionals(std::vector<OpSpec> &t) {
  const char *maxF[] = {"max_pool1d", "max_pool2d", "max_pool3d"};
  const char *avgF[] = {"avg_pool1d", "avg_pool2d", "avg_pool3d"};
  for (int n = 1; n <= 3; ++n) {
    t.push_back({maxF[n - 1], maxArgs(), n, 1, 1, false, false, buildPool});
    t.push_back({avgF[n - 1], avgArgs(n), n, 1, 1, false, false, buildPool});
  }
}

} // namespace kiln
