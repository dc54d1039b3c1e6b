// Graphviz output of the IR.
#include "ir/dot_printer.h"

#include "ir/op_def.h"

#include <unordered_map>

namespace kiln {

/// A DOT string literal.
static std::string dotString(const std::string &s) {
  std::string r = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\')
      r += '\\';
    if (c == '\n') {
      r += "\\n";
      continue;
    }
    r += c;
  }
  return r + "\"";
}

std::string printDot(const Graph &g) {
  std::string s = "digraph " + dotString(g.name) +
                  " {\n"
                  "  rankdir=TB;\n"
                  "  node [shape=box, fontname=\"monospace\", fontsize=10];\n";
  std::unordered_map<const Value *, std::string> node;
  for (size_t i = 0; i < g.inputs.size(); ++i) {
    node[g.inputs[i]] = "in" + std::to_string(i);
    s += "  in" + std::to_string(i) + " [shape=ellipse, label=" +
         dotString(g.inputs[i]->name + "\n" +
                   tensorTypeToString(g.inputs[i]->shape)) +
         "];\n";
  }
  for (size_t i = 0; i < g.ops.size(); ++i) {
    const Op &op = *g.ops[i];
    std::string id = "op" + std::to_string(i);
    std::string label = op.result()->name + "\n" + op.name();
    std::string fused;
    if (op.attrs.count("activation"))
      fused += " + " + op.getString("activation");
    bool residual = op.def->fusableEpilogue && op.operand(3);
    if (residual)
      fused = " + residual" + fused;
    if (!fused.empty())
      label += fused;
    for (const Value *r : op.results)
      label += "\n" + tensorTypeToString(r->shape, r->elemType);
    std::string style = !fused.empty() ? ", style=filled, fillcolor=\"#ffe8b0\""
                        : op.def->isView ? ", style=dashed"
                                         : "";
    s += "  " + id + " [label=" + dotString(label) + style + "];\n";
    for (const Value *r : op.results)
      node[r] = id;
    for (size_t k = 0; k < op.operands.size(); ++k) {
      const Value *v = op.operands[k];
      if (!v || v->isWeight())
        continue;
      bool isResidual = residual && k == 3;
      s += "  " + node.at(v) + " -> " + id +
           (isResidual ? " [style=dashed, label=\"residual\"]" : "") + ";\n";
    }
  }
  for (size_t i = 0; i < g.outputs.size(); ++i) {
    std::string id = "out" + std::to_string(i);
    s += "  " + id + " [shape=ellipse, label=" + dotString(g.outputs[i].first) +
         "];\n";
    s += "  " + node.at(g.outputs[i].second) + " -> " + id + ";\n";
  }
  return s + "}\n";
}

} // namespace kiln
