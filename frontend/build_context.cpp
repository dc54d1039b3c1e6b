// Argument validation and the services build functions use.
#include "frontend/build_context.h"

#include "frontend/model_builder.h"
#include "ir/op_registry.h"
#include "support/error.h"
#include "support/strings.h"

#include <cmath>

namespace kiln {

/// Integer arguments (sizes, strides, ...) must fit the runtime's int32.
static void checkRange(const JsonNode &v) {
  auto one = [](const JsonNode &e) {
    if (e.json().is_number() && std::fabs(e.asNumber()) > 2147483647.0)
      e.error("expected an integer of magnitude below 2^31, found " +
              e.describe());
  };
  if (v.isArray())
    for (size_t i = 0; i < v.size(); ++i)
      one(v[i]);
  else
    one(v);
}

static void validate(const ArgSpec &a, const JsonNode &v, int spatial,
                     bool nullable) {
  if (v.isNull() && nullable)
    return;
  if (a.kind != ArgKind::Float && a.kind != ArgKind::Any)
    checkRange(v);
  switch (a.kind) {
  case ArgKind::Int:
    v.asInt();
    break;
  case ArgKind::Float:
    v.asNumber();
    break;
  case ArgKind::Bool:
    v.asBool();
    break;
  case ArgKind::String: {
    std::string s = v.asString();
    bool ok = a.choices.empty();
    for (const auto &c : a.choices)
      ok |= c == s;
    if (!ok)
      v.error("expected one of " + joinQuoted(a.choices) + ", found " +
              v.describe() + didYouMean(s, a.choices));
    break;
  }
  case ArgKind::Padding:
    if (v.isString()) {
      std::string s = v.asString();
      if (s != "same" && s != "valid")
        v.error("expected an integer, a list of " + std::to_string(spatial) +
                " integers, \"same\" or \"valid\", found " + v.describe());
      break;
    }
    [[fallthrough]];
  case ArgKind::Spatial:
    v.asInts(size_t(spatial));
    break;
  case ArgKind::Size:
    if (v.isArray()) {
      if (v.size() != size_t(spatial))
        v.error("expected " + std::to_string(spatial) + " sizes, found " +
                v.describe());
      for (size_t i = 0; i < v.size(); ++i)
        if (!v[i].isNull())
          v[i].asInt();
    } else {
      v.asInt();
    }
    break;
  case ArgKind::IntList:
    v.asIntList();
    break;
  case ArgKind::Any:
    break;
  }
}

Args::Args(const OpSpec &spec, const JsonNode &node,
           const std::vector<std::string> &reserved)
    : spec_(spec), node_(node) {
  std::vector<std::string> allowed = reserved;
  for (const ArgSpec &a : spec.args)
    allowed.push_back(a.name);
  if (!spec.anyArgs)
    node.checkKeys(allowed);
  for (const ArgSpec &a : spec.args) {
    bool nullable =
        a.nullable || (a.defaultJson && std::string(a.defaultJson) == "null");
    if (node.has(a.name)) {
      validate(a, node.at(a.name), spec.spatial, nullable);
      continue;
    }
    if (!a.defaultJson)
      node.error(std::string("missing required argument \"") + a.name +
                 "\" of " + spec.name);
    std::string d = a.defaultJson;
    if (d[0] == '=')
      defaults_[a.name] = std::make_unique<Json>(
          node_.has(d.substr(1)) ? node_.at(d.substr(1)).json()
                                 : *defaults_.at(d.substr(1)));
    else
      defaults_[a.name] = std::make_unique<Json>(Json::parse(d));
  }
}

JsonNode Args::node(const std::string &name) const {
  std::string p = node_.path() + "." + name;
  if (node_.has(name))
    return node_.at(name);
  auto it = defaults_.find(name);
  KILN_ASSERT(it != defaults_.end(),
              std::string(spec_.name) + " has no argument " + name);
  return JsonNode(*it->second, p, node_.file());
}

bool Args::given(const std::string &name) const { return node_.has(name); }
int64_t Args::integer(const std::string &n) const { return node(n).asInt(); }
double Args::number(const std::string &n) const { return node(n).asNumber(); }
bool Args::boolean(const std::string &n) const { return node(n).asBool(); }
std::string Args::string(const std::string &n) const {
  return node(n).asString();
}
std::vector<int64_t> Args::spatial(const std::string &n) const {
  return node(n).asInts(size_t(spec_.spatial));
}

Value *BuildContext::input(size_t i) const {
  KILN_ASSERT(i < inputs.size(), "input index out of range");
  if (!inputs[i].value)
    error("input " + std::to_string(i) + " must be a tensor, found a number");
  return inputs[i].value;
}

Value *BuildContext::param(const std::string &name, const Shape &shape,
                           DefaultInit init, bool buffer) const {
  Value *v = builder.parameter(
      modulePath.empty() ? name : modulePath + "." + name, shape, init, node);
  v->buffer = buffer;
  return v;
}

void BuildContext::ignoreParam(const std::string &name) const {
  builder.ignoreTensor(modulePath.empty() ? name : modulePath + "." + name);
}

Value *BuildContext::scalar(double v) const {
  return builder.scalarConstant(v);
}

Op *BuildContext::emit(const char *opName, std::vector<Value *> operands,
                       AttrMap attrs, const std::string &suffix) const {
  return builder.graph().addOp(getOp(opName), std::move(operands),
                               std::move(attrs), {node.file(), node.path()},
                               resultName + suffix);
}

void BuildContext::error(const std::string &message) const {
  node.error(std::string(spec.name) + ": " + message);
}

static const std::vector<OpSpec> &layerTable() {
  static const std::vector<OpSpec> t = [] {
    std::vector<OpSpec> v;
    addConvLayers(v);
    addPoolLayers(v);
    addActivationLayers(v);
    addBasicLayers(v);
    addNormLayers(v);
    addUpsampleLayers(v);
    return v;
  }();
  return t;
}

static const std::vector<OpSpec> &functionalTable() {
  static const std::vector<OpSpec> t = [] {
    std::vector<OpSpec> v;
    addFunctionalOps(v);
    addPoolFunctionals(v);
    addActivationFunctionals(v);
    addNormFunctionals(v);
    addUpsampleFunctionals(v);
    addShapeFunctionals(v);
    return v;
  }();
  return t;
}

static const OpSpec *find(const std::vector<OpSpec> &t, const std::string &n) {
  for (const OpSpec &s : t)
    if (n == s.name)
      return &s;
  return nullptr;
}

static std::vector<std::string> names(const std::vector<OpSpec> &t) {
  std::vector<std::string> v;
  for (const OpSpec &s : t)
    v.push_back(s.name);
  return v;
}

const OpSpec *findLayer(const std::string &type) {
  return find(layerTable(), type);
}
const OpSpec *findFunctional(const std::string &name) {
  return find(functionalTable(), name);
}
std::vector<std::string> layerNames() { return names(layerTable()); }
std::vector<std::string> functionalNames() { return names(functionalTable()); }

} // namespace kiln
