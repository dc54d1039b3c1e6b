// Activation layer types (ReLU, ReLU6, Sigmoid, Tanh, LeakyReLU, Hardtanh,
// ELU, RReLU in eval mode, PReLU) and their functional forms.
#include "frontend/layers/layer_helpers.h"

namespace kiln {
namespace {

/// Maps a layer or functional name to its IR op and float attributes.
struct ActRow {
  const char *layer, *functional, *op;
  std::vector<ArgSpec> args; ///< besides `inplace`
};

const std::vector<ActRow> &rows() {
  static const std::vector<ActRow> r = {
      {"ReLU", "relu", "relu", {}},
      {"ReLU6", "relu6", "relu6", {}},
      {"Sigmoid", "sigmoid", "sigmoid", {}},
      {"Tanh", "tanh", "tanh", {}},
      {"LeakyReLU",
       "leaky_relu",
       "leaky_relu",
       {{"negative_slope", ArgKind::Float, "0.01"}}},
      {"Hardtanh",
       "hardtanh",
       "hardtanh",
       {{"min_val", ArgKind::Float, "-1.0"},
        {"max_val", ArgKind::Float, "1.0"}}},
      {"ELU", "elu", "elu", {{"alpha", ArgKind::Float, "1.0"}}},
      {"SiLU", "silu", "silu", {}},
      {"Hardswish", "hardswish", "hardswish", {}},
      {"Hardsigmoid", "hardsigmoid", "hardsigmoid", {}},
  };
  return r;
}

const ActRow &rowOf(const OpSpec &spec) {
  for (const ActRow &r : rows())
    if (spec.name == std::string(r.layer) ||
        spec.name == std::string(r.functional))
      return r;
  return rows()[0];
}

std::vector<Value *> buildAct(BuildContext &ctx) {
  const ActRow &r = rowOf(ctx.spec);
  AttrMap attrs;
  for (const ArgSpec &a : r.args)
    attrs[a.name] = ctx.args.number(a.name);
  if (r.op == std::string("hardtanh") &&
      ctx.args.number("max_val") <= ctx.args.number("min_val"))
    ctx.error("max_val must be greater than min_val");
  return {ctx.emit(r.op, {ctx.input(0)}, attrs)->result()};
}

std::vector<Value *> buildRrelu(BuildContext &ctx) {
  double lo = ctx.args.number("lower"), hi = ctx.args.number("upper");
  if (lo > hi)
    ctx.error("lower must not exceed upper");
  return {ctx.emit("leaky_relu", {ctx.input(0)},
                   {{"negative_slope", (lo + hi) / 2}})
              ->result()};
}

std::vector<Value *> buildPrelu(BuildContext &ctx) {
  int64_t n = ctx.args.integer("num_parameters");
  if (n < 1)
    ctx.args.node("num_parameters").error("num_parameters must be >= 1");
  double init = ctx.args.number("init");
  Value *x = ctx.input(0);
  if (n > 1 && (x->shape.size() < 2 || x->shape[1] != n))
    ctx.error("num_parameters " + std::to_string(n) +
              " does not match the channels (dim 1) of the input shape " +
              shapeToString(x->shape));
  Value *w = ctx.param("weight", {n}, {init, init});
  return {ctx.emit("prelu", {x, w}, {})->result()};
}

std::vector<Value *> buildSoftmax(BuildContext &ctx) {
  Value *x = ctx.input(0);
  JsonNode dimNode = ctx.args.node("dim");
  if (dimNode.isNull())
    ctx.error("dim is required (PyTorch's implicit choice of dim is "
              "deprecated and not supported)");
  int64_t d = dimNode.asInt();
  int64_t w = wrapDim(d, int64_t(x->shape.size()));
  if (w < 0)
    dimNode.error("dim " + std::to_string(d) +
                  " is out of range for an input of shape " +
                  shapeToString(x->shape));
  bool log = ctx.spec.name == "LogSoftmax" || ctx.spec.name == "log_softmax";
  return {
      ctx.emit(log ? "log_softmax" : "softmax", {x}, {{"dim", w}})->result()};
}

/// GELU: the exact form or the tanh approximation, by `approximate`.
std::vector<Value *> buildGelu(BuildContext &ctx) {
  bool tanh = ctx.args.string("approximate") == "tanh";
  return {ctx.emit(tanh ? "gelu_tanh" : "gelu", {ctx.input(0)}, {})->result()};
}

/// Softplus(beta, threshold): linear above the threshold, as in PyTorch.
std::vector<Value *> buildSoftplus(BuildContext &ctx) {
  double beta = ctx.args.number("beta");
  if (beta == 0)
    ctx.args.node("beta").error("beta must not be 0");
  return {
      ctx.emit("softplus", {ctx.input(0)},
               {{"beta", beta}, {"threshold", ctx.args.number("threshold")}})
          ->result()};
}

/// GELU and Softplus take no `inplace` (PyTorch's constructors do not).
void addGeluSoftplus(std::vector<OpSpec> &t, const char *gelu,
                     const char *softplus) {
  t.push_back({gelu,
               {{"approximate", ArgKind::String, "\"none\"", {"none", "tanh"}}},
               0,
               1,
               1,
               false,
               false,
               buildGelu});
  t.push_back(
      {softplus,
       {{"beta", ArgKind::Float, "1.0"}, {"threshold", ArgKind::Float, "20.0"}},
       0,
       1,
       1,
       false,
       false,
       buildSoftplus});
}

} // namespace

void addActivationLayers(std::vector<OpSpec> &t) {
  addGeluSoftplus(t, "GELU", "Softplus");
  for (const ActRow &r : rows()) {
    std::vector<ArgSpec> a = r.args;
    a.push_back({"inplace", ArgKind::Bool, "false"});
    t.push_back({r.layer, a, 0, 1, 1, false, false, buildAct});
  }
  t.push_back({"RReLU",
               {{"lower", ArgKind::Float, "0.125"},
                {"upper", ArgKind::Float, "0.3333333333333333"},
                {"inplace", ArgKind::Bool, "false"}},
               0,
               1,
               1,
               false,
               false,
               buildRrelu});
  for (const char *n : {"Softmax", "LogSoftmax"})
    t.push_back({n,
                 {{"dim", ArgKind::Int, "null"}},
                 0,
                 1,
                 1,
                 false,
                 false,
                 buildSoftmax});
  t.push_back(
      {"PReLU",
       {{"num_parameters", ArgKind::Int, "1"},
        {"init", ArgKind::Float, "0.25"}},
       0,
       1,
       1,
       false,
       false,
       buildPrelu,
       [](const Args &) { return std::vector<std::string>{"weight"}; }});
}

void addActivationFunctionals(std::vector<OpSpec> &t) {
  addGeluSoftplus(t, "gelu", "softplus");
  for (const char *n : {"softmax", "log_softmax"})
    t.push_back({n,
                 {{"dim", ArgKind::Int, "null"}},
                 0,
                 1,
                 1,
                 false,
                 false,
                 buildSoftmax});
  for (const ActRow &r : rows()) {
    std::vector<ArgSpec> a = r.args;
    a.push_back({"inplace", ArgKind::Bool, "false"});
    t.push_back({r.functional, a, 0, 1, 1, false, false, buildAct});
  }
}

} // namespace kiln
