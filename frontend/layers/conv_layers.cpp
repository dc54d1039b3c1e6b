// Layer types Conv1d/2d/3d and ConvTranspose1d/2d/3d.
#include "frontend/layers/layer_helpers.h"

#include <algorithm>

namespace kiln {
namespace {

using layers::checkChannels;
using layers::fanInUniform;

/// Parameters shared by convolutions: weight of `wshape` and optional bias.
std::vector<Value *> convParams(BuildContext &ctx, const Shape &wshape,
                                int64_t fanIn, int64_t cout) {
  std::vector<Value *> p = {ctx.param("weight", wshape, fanInUniform(fanIn))};
  if (ctx.args.boolean("bias"))
    p.push_back(ctx.param("bias", {cout}, fanInUniform(fanIn)));
  return p;
}

void checkGroups(BuildContext &ctx, int64_t cin, int64_t cout) {
  int64_t g = ctx.args.integer("groups");
  if (g < 1)
    ctx.args.node("groups").error("groups must be >= 1, found " +
                                  std::to_string(g));
  if (cin < 1 || cout < 1)
    ctx.error("in_channels and out_channels must be >= 1, found " +
              std::to_string(cin) + " and " + std::to_string(cout));
  if (cin % g || cout % g)
    ctx.args.node("groups").error(
        "groups " + std::to_string(g) + " must divide in_channels " +
        std::to_string(cin) + " and out_channels " + std::to_string(cout));
}

void checkPositive(BuildContext &ctx, const char *arg, int64_t min) {
  for (int64_t v : ctx.args.spatial(arg))
    if (v < min)
      ctx.args.node(arg).error(std::string(arg) +
                               " entries must be >= " + std::to_string(min) +
                               ", found " + ctx.args.node(arg).json().dump());
}

std::vector<Value *> buildConv(BuildContext &ctx) {
  int ns = ctx.spec.spatial;
  int64_t cin = ctx.args.integer("in_channels");
  int64_t cout = ctx.args.integer("out_channels");
  checkGroups(ctx, cin, cout);
  checkPositive(ctx, "kernel_size", 1);
  checkPositive(ctx, "stride", 1);
  checkPositive(ctx, "dilation", 1);
  std::string mode = ctx.args.string("padding_mode");
  auto k = ctx.args.spatial("kernel_size"), s = ctx.args.spatial("stride"),
       d = ctx.args.spatial("dilation");
  std::vector<int64_t> pad(2 * size_t(ns), 0);
  JsonNode padNode = ctx.args.node("padding");
  if (padNode.isString()) {
    if (padNode.asString() == "same") {
      for (int64_t v : s)
        if (v != 1)
          padNode.error("padding \"same\" needs stride 1, found stride " +
                        ctx.args.node("stride").json().dump());
      for (int i = 0; i < ns; ++i) {
        int64_t total = d[i] * (k[i] - 1);
        pad[i] = total / 2;
        pad[ns + i] = total - total / 2;
      }
    }
  } else {
    auto p = ctx.args.spatial("padding");
    for (int i = 0; i < ns; ++i) {
      if (p[i] < 0)
        padNode.error("padding must be >= 0, found " + padNode.json().dump());
      pad[i] = pad[ns + i] = p[i];
    }
  }
  int64_t g = ctx.args.integer("groups");
  Shape wshape = {cout, cin / g};
  wshape.insert(wshape.end(), k.begin(), k.end());
  int64_t fanIn = cin / g * numElements(k);
  Value *y = layers::withBatch(ctx, ctx.input(0), ns, [&](Value *x) {
    if (int(x->shape.size()) != ns + 2)
      ctx.error("expected an input of rank " + std::to_string(ns + 1) + " or " +
                std::to_string(ns + 2) + ", found shape " +
                shapeToString(x->shape));
    checkChannels(ctx, x, cin, "in_channels");
    std::vector<int64_t> convPad = pad;
    if (mode != "zeros") {
      // PyTorch pads with F.pad(mode) first, then convolves unpadded.
      if (std::any_of(pad.begin(), pad.end(), [](int64_t v) { return v; })) {
        x = ctx.emit("pad", {x},
                     {{"mode", mode}, {"pads", pad}, {"value", 0.0}}, ".pad")
                ->result();
        convPad.assign(pad.size(), 0);
      }
    }
    std::vector<Value *> operands = {x};
    for (Value *v : convParams(ctx, wshape, fanIn, cout))
      operands.push_back(v);
    return ctx
        .emit("conv", operands,
              {{"stride", s},
               {"padding", convPad},
               {"dilation", d},
               {"groups", g}})
        ->result();
  });
  return {y};
}

std::vector<Value *> buildConvTranspose(BuildContext &ctx) {
  int ns = ctx.spec.spatial;
  int64_t cin = ctx.args.integer("in_channels");
  int64_t cout = ctx.args.integer("out_channels");
  checkGroups(ctx, cin, cout);
  checkPositive(ctx, "kernel_size", 1);
  checkPositive(ctx, "stride", 1);
  checkPositive(ctx, "dilation", 1);
  checkPositive(ctx, "padding", 0);
  checkPositive(ctx, "output_padding", 0);
  if (ctx.args.string("padding_mode") != "zeros")
    ctx.args.node("padding_mode")
        .error("ConvTranspose supports only padding_mode \"zeros\", found " +
               ctx.args.node("padding_mode").describe());
  auto k = ctx.args.spatial("kernel_size"), s = ctx.args.spatial("stride"),
       d = ctx.args.spatial("dilation"), p = ctx.args.spatial("padding");
  auto opad = ctx.args.spatial("output_padding");
  int64_t g = ctx.args.integer("groups");
  Shape wshape = {cin, cout / g};
  wshape.insert(wshape.end(), k.begin(), k.end());
  int64_t fanIn = cout / g * numElements(k);
  Value *y = layers::withBatch(ctx, ctx.input(0), ns, [&](Value *x) {
    if (int(x->shape.size()) != ns + 2)
      ctx.error("expected an input of rank " + std::to_string(ns + 1) + " or " +
                std::to_string(ns + 2) + ", found shape " +
                shapeToString(x->shape));
    checkChannels(ctx, x, cin, "in_channels");
    // output_size on the calling step picks the output padding.
    if (ctx.step && ctx.step->has("output_size")) {
      JsonNode os = ctx.step->at("output_size");
      std::vector<int64_t> want = os.asIntList();
      if (want.size() == size_t(ns) + 2)
        want.erase(want.begin(), want.begin() + 2);
      if (want.size() != size_t(ns))
        os.error("expected " + std::to_string(ns) + " spatial sizes or the " +
                 std::to_string(ns + 2) + "-d full shape, found " +
                 os.describe());
      for (int i = 0; i < ns; ++i) {
        int64_t lo =
            (x->shape[2 + i] - 1) * s[i] - 2 * p[i] + d[i] * (k[i] - 1) + 1;
        int64_t hi = lo + s[i] - 1;
        if (want[i] < lo || want[i] > hi)
          os.error("requested output size " + std::to_string(want[i]) +
                   " in spatial dim " + std::to_string(i) +
                   " is outside the valid range [" + std::to_string(lo) + ", " +
                   std::to_string(hi) + "] for input shape " +
                   shapeToString(x->shape));
        opad[i] = want[i] - lo;
      }
    }
    std::vector<Value *> operands = {x};
    for (Value *v : convParams(ctx, wshape, fanIn, cout))
      operands.push_back(v);
    return ctx
        .emit("conv_transpose", operands,
              {{"stride", s},
               {"padding", p},
               {"output_padding", opad},
               {"dilation", d},
               {"groups", g}})
        ->result();
  });
  return {y};
}

std::vector<ArgSpec> convArgs() {
  return {{"in_channels", ArgKind::Int, nullptr},
          {"out_channels", ArgKind::Int, nullptr},
          {"kernel_size", ArgKind::Spatial, nullptr},
          {"stride", ArgKind::Spatial, "1"},
          {"padding", ArgKind::Padding, "0"},
          {"dilation", ArgKind::Spatial, "1"},
          {"groups", ArgKind::Int, "1"},
          {"bias", ArgKind::Bool, "true"},
          {"padding_mode",
           ArgKind::String,
           "\"zeros\"",
           {"zeros", "reflect", "replicate", "circular"}}};
}

std::vector<ArgSpec> convTransposeArgs() {
  return {{"in_channels", ArgKind::Int, nullptr},
          {"out_channels", ArgKind::Int, nullptr},
          {"kernel_size", ArgKind::Spatial, nullptr},
          {"stride", ArgKind::Spatial, "1"},
          {"padding", ArgKind::Spatial, "0"},
          {"output_padding", ArgKind::Spatial, "0"},
          {"groups", ArgKind::Int, "1"},
          {"bias", ArgKind::Bool, "true"},
          {"dilation", ArgKind::Spatial, "1"},
          {"padding_mode",
           ArgKind::String,
           "\"zeros\"",
           {"zeros", "reflect", "replicate", "circular"}}};
}

std::vector<std::string> weightAndBias(const Args &args) {
  if (args.boolean("bias"))
    return {"weight", "bias"};
  return {"weight"};
}

} // namespace

void addConvLayers(std::vector<OpSpec> &t) {
  const char *conv[] = {"Conv1d", "Conv2d", "Conv3d"};
  const char *convT[] = {"ConvTranspose1d", "ConvTranspose2d",
                         "ConvTranspose3d"};
  for (int n = 1; n <= 3; ++n) {
    t.push_back({conv[n - 1], convArgs(), n, 1, 1, false, false, buildConv,
                 weightAndBias});
    t.push_back({convT[n - 1], convTransposeArgs(), n, 1, 1, false, false,
                 buildConvTranspose, weightAndBias});
  }
}

} // namespace kiln
