// Fused epilogues of conv-like ops.
#include "ir/ops/epilogue.h"

#include "ir/ops/op_helpers.h"

#include <cmath>

namespace kiln::ops {

std::vector<AttrSpec> epilogueAttrs() {
  return {{"activation", AttrKind::String, true},
          {"act_a", AttrKind::Float, true},
          {"act_b", AttrKind::Float, true}};
}

std::vector<AttrSpec> withEpilogueAttrs(std::vector<AttrSpec> attrs) {
  for (const AttrSpec &a : epilogueAttrs())
    attrs.push_back(a);
  return attrs;
}

static double attrOr(const Op &op, const char *name) {
  return op.attrs.count(name) ? op.getFloat(name) : 0.0;
}

KernelParam epilogueParam(const Op &op) {
  int id = 0;
  if (op.attrs.count("activation")) {
    double (*ref)(double, double, double) = nullptr;
    activationInfo(op.getString("activation"), id, &ref);
  }
  return KernelParam::group("ep",
                            {KernelParam::integer("act", id),
                             KernelParam::real("a", attrOr(op, "act_a")),
                             KernelParam::real("b", attrOr(op, "act_b"))});
}

void applyEpilogue(const Op &op, const float *residual, float *y, int64_t n) {
  double (*ref)(double, double, double) = nullptr;
  int id = 0;
  bool act = op.attrs.count("activation") &&
             activationInfo(op.getString("activation"), id, &ref);
  double a = attrOr(op, "act_a"), b = attrOr(op, "act_b");
  for (int64_t i = 0; i < n; ++i) {
    float v = residual ? y[i] + residual[i] : y[i];
    y[i] = act && !std::isnan(v) ? float(ref(v, a, b)) : v;
  }
}

void verifyEpilogue(const Op &op, size_t residualIndex, const Shape &result) {
  if (op.attrs.count("activation")) {
    int id = 0;
    double (*ref)(double, double, double) = nullptr;
    if (!activationInfo(op.getString("activation"), id, &ref))
      op.error("activation \"" + op.getString("activation") +
               "\" is not an activation that can be fused");
  }
  if (Value *r = op.operand(residualIndex); r && r->shape != result)
    op.error("residual shape " + shapeToString(r->shape) +
             " does not match the result shape " + shapeToString(result));
}

} // namespace kiln::ops
