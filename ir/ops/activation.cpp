// Elementwise activation ops, one table row each: name, the runtime
// epilogue id it lowers to, and its float attributes.
//   relu, relu6, sigmoid, tanh, leaky_relu {negative_slope},
//   hardtanh {min_val, max_val}, elu {alpha}, silu, hardswish, hardsigmoid,
//   gelu (exact), gelu_tanh, softplus {beta, threshold}
#include "ir/ops/op_helpers.h"
#include "support/error.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace kiln::ops {
namespace {

/// The runtime's activation ids (kiln/kernels/common.h).
enum RuntimeAct {
  kRelu = 1,
  kRelu6,
  kLeaky,
  kHardtanh,
  kSigmoid,
  kTanh,
  kElu,
  kSilu,
  kHardswish,
  kHardsigmoid,
  kGelu,
  kGeluTanh,
  kSoftplus
};

/// The reference definition of each activation, in double precision.
double refRelu(double x, double, double) { return x > 0 ? x : 0; }
double refRelu6(double x, double, double) {
  return std::min(std::max(x, 0.0), 6.0);
}
double refLeaky(double x, double a, double) { return x >= 0 ? x : x * a; }
double refHardtanh(double x, double a, double b) {
  return std::min(std::max(x, a), b);
}
double refSigmoid(double x, double, double) {
  return 1.0 / (1.0 + std::exp(-x));
}
double refTanh(double x, double, double) { return std::tanh(x); }
double refSilu(double x, double, double) { return x / (1.0 + std::exp(-x)); }
double refHardsigmoid(double x, double, double) {
  return std::min(std::max(x + 3.0, 0.0), 6.0) / 6.0;
}
double refHardswish(double x, double, double) {
  return x * refHardsigmoid(x, 0, 0);
}
double refGelu(double x, double, double) {
  return 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0)));
}
double refGeluTanh(double x, double, double) {
  const double k = std::sqrt(2.0 / M_PI);
  return 0.5 * x * (1.0 + std::tanh(k * (x + 0.044715 * x * x * x)));
}
/// a = beta, b = threshold: linear above the threshold, as PyTorch.
double refSoftplus(double x, double beta, double threshold) {
  return x * beta > threshold ? x : std::log1p(std::exp(x * beta)) / beta;
}
double refElu(double x, double a, double) {
  return x > 0 ? x : a * (std::exp(x) - 1.0);
}

struct ActRow {
  const char *name;
  RuntimeAct act;
  const char *a, *b; ///< attribute names of the two scalars, or nullptr
  double (*ref)(double x, double a, double b);
};

const ActRow kRows[] = {
    {"relu", kRelu, nullptr, nullptr, refRelu},
    {"relu6", kRelu6, nullptr, nullptr, refRelu6},
    {"sigmoid", kSigmoid, nullptr, nullptr, refSigmoid},
    {"tanh", kTanh, nullptr, nullptr, refTanh},
    {"leaky_relu", kLeaky, "negative_slope", nullptr, refLeaky},
    {"hardtanh", kHardtanh, "min_val", "max_val", refHardtanh},
    {"elu", kElu, "alpha", nullptr, refElu},
    {"silu", kSilu, nullptr, nullptr, refSilu},
    {"hardswish", kHardswish, nullptr, nullptr, refHardswish},
    {"hardsigmoid", kHardsigmoid, nullptr, nullptr, refHardsigmoid},
    {"gelu", kGelu, nullptr, nullptr, refGelu},
    {"gelu_tanh", kGeluTanh, nullptr, nullptr, refGeluTanh},
    {"softplus", kSoftplus, "beta", "threshold", refSoftplus},
};

const ActRow &rowOf(const Op &op) {
  for (const ActRow &r : kRows)
    if (std::strcmp(r.name, op.name()) == 0)
      return r;
  internalError(__FILE__, __LINE__, "activation row",
                std::string("not an activation: ") + op.name());
}

double arg(const Op &op, const char *name) {
  return name ? op.getFloat(name) : 0.0;
}

std::vector<Shape> inferActivation(const Op &op) {
  const ActRow &r = rowOf(op);
  if (r.act == kHardtanh && !(arg(op, r.b) > arg(op, r.a)))
    op.error("max_val must be greater than min_val");
  return {operandShape(op, 0)};
}

void evalActivation(const Op &op, const std::vector<const float *> &in,
                    const std::vector<float *> &out) {
  const ActRow &r = rowOf(op);
  double a = arg(op, r.a), b = arg(op, r.b);
  int64_t n = op.result()->numElements();
  for (int64_t i = 0; i < n; ++i)
    out[0][i] = std::isnan(in[0][i]) ? in[0][i] : float(r.ref(in[0][i], a, b));
}

std::vector<KernelCall> lowerActivation(const Op &op) {
  const ActRow &r = rowOf(op);
  return {KernelCall{
      "unary", "UnaryParams",
      KernelParam::group(
          "",
          {KernelParam::integer("count", op.result()->numElements()),
           KernelParam::group("ep", {KernelParam::integer("act", r.act),
                                     KernelParam::real("a", arg(op, r.a)),
                                     KernelParam::real("b", arg(op, r.b))})})}};
}

int64_t macsElementwise(const Op &op) { return op.result()->numElements(); }

bool asEpilogue(const Op &op, std::string &act, double &a, double &b) {
  const ActRow &r = rowOf(op);
  act = r.name;
  a = arg(op, r.a);
  b = arg(op, r.b);
  return true;
}

OpDef makeDef(const ActRow &r) {
  std::vector<AttrSpec> attrs;
  for (const char *n : {r.a, r.b})
    if (n)
      attrs.push_back({n, AttrKind::Float});
  return {.name = r.name,
          .operands = {{"input"}},
          .attrs = attrs,
          .inferShapes = inferActivation,
          .evaluate = evalActivation,
          .lower = lowerActivation,
          .macs = macsElementwise,
          .asEpilogue = asEpilogue};
}

} // namespace

bool activationInfo(const std::string &name, int &runtimeId,
                    double (**reference)(double, double, double)) {
  for (const ActRow &r : kRows)
    if (name == r.name) {
      runtimeId = r.act;
      *reference = r.ref;
      return true;
    }
  return false;
}

extern const OpDef kReluOp = makeDef(kRows[0]);
extern const OpDef kRelu6Op = makeDef(kRows[1]);
extern const OpDef kSigmoidOp = makeDef(kRows[2]);
extern const OpDef kTanhOp = makeDef(kRows[3]);
extern const OpDef kLeakyReluOp = makeDef(kRows[4]);
extern const OpDef kHardtanhOp = makeDef(kRows[5]);
extern const OpDef kEluOp = makeDef(kRows[6]);
extern const OpDef kSiluOp = makeDef(kRows[7]);
extern const OpDef kHardswishOp = makeDef(kRows[8]);
extern const OpDef kHardsigmoidOp = makeDef(kRows[9]);
extern const OpDef kGeluOp = makeDef(kRows[10]);
extern const OpDef kGeluTanhOp = makeDef(kRows[11]);
extern const OpDef kSoftplusOp = makeDef(kRows[12]);

} // namespace kiln::ops
