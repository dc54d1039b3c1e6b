// Layer type Upsample and the functional interpolate (modes nearest and
// bilinear), with F.interpolate's argument rules in PyTorch 1.13: exactly
// one of size and scale_factor; align_corners only with bilinear; a scale
// factor gives output size floor(in * scale) and, unless
// recompute_scale_factor is true, is itself the source step (IR ops
// upsample_nearest and upsample_bilinear).
#include "frontend/layers/layer_helpers.h"

#include <cmath>

namespace kiln {
namespace {

const char *const kScaleAttrs[3] = {"scale_d", "scale_h", "scale_w"};

/// An integer or a list of `n` integers (sizes), each >= 1.
std::vector<int64_t> sizesOf(const JsonNode &node, size_t n, Value *x) {
  if (!node.isArray() && !node.json().is_number_integer())
    node.error("expected an integer or a list of " + std::to_string(n) +
               " integers, found " + node.describe());
  if (node.isArray() && node.size() != n)
    node.error("expected " + std::to_string(n) +
               " sizes, one per spatial dim of the input shape " +
               shapeToString(x->shape) + ", found " + node.json().dump());
  std::vector<int64_t> v =
      node.isArray() ? node.asIntList() : std::vector<int64_t>(n, node.asInt());
  for (int64_t s : v)
    if (s < 1 || s > kMaxElements)
      node.error("sizes must be between 1 and 2^31 - 1, found " +
                 node.json().dump());
  return v;
}

/// A number or a list of `n` numbers (scale factors), each finite and > 0.
std::vector<double> scalesOf(const JsonNode &node, size_t n, Value *x) {
  if (!node.isArray() && !node.json().is_number())
    node.error("expected a number or a list of " + std::to_string(n) +
               " numbers, found " + node.describe());
  if (node.isArray() && node.size() != n)
    node.error("expected " + std::to_string(n) +
               " scale factors, one per spatial dim of the input shape " +
               shapeToString(x->shape) + ", found " + node.json().dump());
  std::vector<double> v;
  for (size_t i = 0; i < n; ++i)
    v.push_back(node.isArray() ? node[i].asNumber() : node.asNumber());
  for (double s : v)
    if (!(s > 0) || !std::isfinite(s))
      node.error("scale factors must be finite and > 0, found " +
                 node.json().dump());
  return v;
}

std::vector<Value *> buildUpsample(BuildContext &ctx) {
  Value *x = ctx.input(0);
  const Args &a = ctx.args;
  JsonNode sizeNode = a.node("size"), scaleNode = a.node("scale_factor");
  JsonNode alignNode = a.node("align_corners");
  JsonNode recomputeNode = a.node("recompute_scale_factor");
  std::string mode = a.string("mode");
  bool bilinear = mode == "bilinear";
  size_t rank = x->shape.size();
  if (rank < 3 || rank > 5)
    ctx.error("expected an input of rank 3 to 5 (N, C and 1 to 3 spatial "
              "dims), found shape " +
              shapeToString(x->shape));
  if (bilinear && rank != 4)
    a.node("mode").error("mode \"bilinear\" needs a 4-d input (N, C, H, W), "
                         "found shape " +
                         shapeToString(x->shape));
  if (!sizeNode.isNull() && !scaleNode.isNull())
    ctx.error("expected exactly one of size and scale_factor, found both");
  if (sizeNode.isNull() && scaleNode.isNull())
    ctx.error("expected exactly one of size and scale_factor, found neither");
  if (!bilinear && !alignNode.isNull())
    alignNode.error("align_corners can only be set with mode \"bilinear\", "
                    "found align_corners " +
                    alignNode.json().dump() + " with mode \"" + mode + "\"");
  bool recompute = !recomputeNode.isNull() && recomputeNode.asBool();
  if (recompute && !sizeNode.isNull())
    recomputeNode.error("recompute_scale_factor is not meaningful with an "
                        "explicit size");
  size_t ns = rank - 2;
  Shape inSizes(x->shape.begin() + 2, x->shape.end());
  std::vector<int64_t> size;
  AttrMap attrs;
  if (!sizeNode.isNull()) {
    size = sizesOf(sizeNode, ns, x);
  } else {
    std::vector<double> scales = scalesOf(scaleNode, ns, x);
    for (size_t i = 0; i < ns; ++i) {
      // PyTorch: int64(in * scale) in double (a truncation, i.e. floor).
      double o = std::floor(double(inSizes[i]) * scales[i]);
      if (o < 1 || o > double(kMaxElements))
        scaleNode.error(
            "scale factor " + attrToString(Attr(scales[i])) +
            " gives output size floor(" + std::to_string(inSizes[i]) + " * " +
            attrToString(Attr(scales[i])) + ") = " +
            (o < 1e18 ? std::to_string(int64_t(o)) : attrToString(Attr(o))) +
            " for spatial dim " + std::to_string(i) + " of the input shape " +
            shapeToString(x->shape) + "; sizes must be between 1 and 2^31 - 1");
      size.push_back(int64_t(o));
      if (!recompute)
        attrs[kScaleAttrs[3 - ns + i]] = scales[i];
    }
  }
  attrs["size"] = size;
  if (bilinear)
    attrs["align_corners"] = !alignNode.isNull() && alignNode.asBool();
  return {
      ctx.emit(bilinear ? "upsample_bilinear" : "upsample_nearest", {x}, attrs)
          ->result()};
}

std::vector<ArgSpec> upsampleArgs() {
  return {{"size", ArgKind::Any, "null"},
          {"scale_factor", ArgKind::Any, "null"},
          {"mode", ArgKind::String, "\"nearest\"", {"nearest", "bilinear"}},
          {"align_corners", ArgKind::Bool, "null"},
          {"recompute_scale_factor", ArgKind::Bool, "null"}};
}

} // namespace

void addUpsampleLayers(std::vector<OpSpec> &t) {
  t.push_back(
      {"Upsample", upsampleArgs(), 0, 1, 1, false, false, buildUpsample});
}

void addUpsampleFunctionals(std::vector<OpSpec> &t) {
  t.push_back(
      {"interpolate", upsampleArgs(), 0, 1, 1, false, false, buildUpsample});
}

} // namespace kiln
