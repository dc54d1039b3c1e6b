// The textual IR printer.
#include "ir/printer.h"

#include "ir/op_def.h"

namespace kiln {

std::string valueRef(const Value *v) {
  return (v->isWeight() ? "@" : "%") + v->name;
}

static std::string quoted(const std::string &s) {
  return attrToString(Attr(s));
}

std::string printOp(const Op &op, const PrintOptions &opts) {
  std::string s;
  for (size_t i = 0; i < op.results.size(); ++i)
    s += (i ? ", " : "") + valueRef(op.results[i]);
  s += std::string(" = ") + op.name() + "(";
  bool first = true;
  for (Value *v : op.operands) {
    if (!v)
      continue;
    s += (first ? "" : ", ") + valueRef(v);
    first = false;
  }
  s += ")";
  if (!op.attrs.empty()) {
    s += " {";
    first = true;
    for (const auto &[name, value] : op.attrs) {
      s += (first ? "" : ", ") + name + " = " + attrToString(value);
      first = false;
    }
    s += "}";
  }
  s += " :";
  for (size_t i = 0; i < op.results.size(); ++i)
    s += (i ? ", " : " ") + tensorTypeToString(op.results[i]->shape, op.results[i]->elemType);
  if (opts.locations)
    s += " loc(" + quoted(op.loc.path) + ")";
  return s;
}

std::string printGraph(const Graph &g, const PrintOptions &opts) {
  std::string s = "graph @" + g.name + "(";
  for (size_t i = 0; i < g.inputs.size(); ++i)
    s += (i ? ", " : "") + valueRef(g.inputs[i]) + ": " +
         tensorTypeToString(g.inputs[i]->shape);
  s += ") -> (";
  for (size_t i = 0; i < g.outputs.size(); ++i)
    s += (i ? ", " : "") + g.outputs[i].first + ": " +
         tensorTypeToString(g.outputs[i].second->shape,
                            g.outputs[i].second->elemType);
  s += ") {\n";
  for (const Value *w : g.weights)
    s += "  weight " + valueRef(w) + " : " + tensorTypeToString(w->shape) +
         "\n";
  for (const auto &op : g.ops)
    s += "  " + printOp(*op, opts) + "\n";
  s += "  return";
  for (size_t i = 0; i < g.outputs.size(); ++i)
    s += std::string(i ? ", " : " ") + g.outputs[i].first + " = " +
         valueRef(g.outputs[i].second);
  return s + "\n}\n";
}

} // namespace kiln
