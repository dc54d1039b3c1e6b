// The IR verifier.
#include "ir/verifier.h"

#include "ir/op_def.h"
#include "ir/printer.h"
#include "support/error.h"

#include <algorithm>
#include <unordered_set>

namespace kiln {

static void checkOp(const Op &op,
                    const std::unordered_set<const Value *> &defined) {
  const OpDef &def = *op.def;
  auto fail = [&](const std::string &m) {
    throw Error(op.loc.file, op.loc.path,
                "verifier: " + m + "\n  in: " + printOp(op));
  };
  bool variadic = !def.operands.empty() && def.operands.back().variadic;
  if (op.operands.size() > def.operands.size() && !variadic)
    fail("too many operands");
  size_t slots = std::max(op.operands.size(), def.operands.size());
  for (size_t i = 0; i < slots; ++i) {
    const OperandSpec &spec =
        def.operands[std::min(i, def.operands.size() - 1)];
    Value *v = op.operand(i);
    if (!v && !spec.optional)
      fail(std::string("missing operand ") + spec.name);
    if (!v && i + 1 < op.operands.size() && op.operand(i + 1))
      fail("an absent optional operand is followed by a present one");
    if (v && !defined.count(v))
      fail("operand " + valueRef(v) + " is used before it is defined");
    if (v && v->elemType != spec.type && !def.isView)
      fail("operand " + valueRef(v) + " must be " + elemTypeName(spec.type) +
           ", found " + elemTypeName(v->elemType));
  }
  for (const auto &[name, value] : op.attrs) {
    bool known = false;
    for (const AttrSpec &a : def.attrs)
      known |= name == a.name;
    if (!known)
      fail("unknown attribute " + name);
  }
  for (const AttrSpec &a : def.attrs) {
    auto it = op.attrs.find(a.name);
    if (it == op.attrs.end() && a.optional)
      continue;
    if (it == op.attrs.end())
      fail(std::string("missing attribute ") + a.name);
    if (attrKind(it->second) != a.kind)
      fail(std::string("attribute ") + a.name + " must be " +
           attrKindName(a.kind) + ", found " +
           attrKindName(attrKind(it->second)));
  }
  if (int(op.results.size()) != def.numResults)
    fail("expected " + std::to_string(def.numResults) + " results");
  std::vector<Shape> shapes = def.inferShapes(op);
  for (size_t i = 0; i < shapes.size(); ++i) {
    ElemType t = i < def.resultTypes.size() ? def.resultTypes[i]
                 : def.isView               ? op.operand(0)->elemType
                                            : ElemType::F32;
    if (op.results[i]->elemType != t)
      fail("result " + std::to_string(i) + " must be " + elemTypeName(t));
    if (shapes[i] != op.results[i]->shape)
      fail("result " + std::to_string(i) + " has shape " +
           shapeToString(op.results[i]->shape) + " but shape inference gives " +
           shapeToString(shapes[i]));
  }
}

void verifyGraph(const Graph &g) {
  std::unordered_set<const Value *> defined(g.inputs.begin(), g.inputs.end());
  defined.insert(g.weights.begin(), g.weights.end());
  for (const auto &op : g.ops) {
    checkOp(*op, defined);
    for (Value *r : op->results) {
      if (defined.count(r))
        throw Error(op->loc.file, op->loc.path,
                    "verifier: " + valueRef(r) + " is defined twice");
      defined.insert(r);
    }
  }
  if (g.outputs.empty())
    throw Error(g.file, "", "verifier: the graph has no outputs");
  for (const auto &[name, v] : g.outputs)
    if (!defined.count(v))
      throw Error(g.file, "", "verifier: output " + name + " is not defined");
}

} // namespace kiln
