// The textual IR printer.
#include "ir/printer.h"

#include "ir/op_def.h"

#include <cctype>

namespace kiln {

static std::string quoted(const std::string &s) {
  return attrToString(Attr(s));
}

/// A name as written in the IR: bare when it is `[A-Za-z0-9_.$-]+`, else
/// quoted (names from the model file may hold any character).
static std::string nameRef(const std::string &n) {
  bool bare = !n.empty();
  for (char c : n)
    bare &= std::isalnum((unsigned char)c) || c == '_' || c == '.' ||
            c == '$' || c == '-';
  return bare ? n : quoted(n);
}

std::string valueRef(const Value *v) {
  return (v->isWeight() ? "@" : "%") + nameRef(v->name);
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
    s += (i ? ", " : " ") +
         tensorTypeToString(op.results[i]->shape, op.results[i]->elemType);
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
    s += (i ? ", " : "") + nameRef(g.outputs[i].first) + ": " +
         tensorTypeToString(g.outputs[i].second->shape,
                            g.outputs[i].second->elemType);
  s += ") {\n";
  // A one-element weight (a number operand, a PReLU slope) shows its value,
  // so that the text keeps the semantics of constants; larger weights are
  // referenced by name and shape only.
  for (const Value *w : g.weights)
    s += "  weight " + valueRef(w) + " : " + tensorTypeToString(w->shape) +
         (w->numElements() == 1
              ? " = " + attrToString(Attr(double((*w->data)[0])))
              : std::string()) +
         "\n";
  for (const auto &op : g.ops)
    s += "  " + printOp(*op, opts) + "\n";
  s += "  return";
  for (size_t i = 0; i < g.outputs.size(); ++i)
    s += std::string(i ? ", " : " ") + nameRef(g.outputs[i].first) + " = " +
         valueRef(g.outputs[i].second);
  return s + "\n}\n";
}

} // namespace kiln
