// The first, simple buffer plan: one arena slot per intermediate tensor.
#include "codegen/buffer_plan.h"

#include "ir/op_def.h"
#include "support/error.h"

namespace kiln {

int64_t alignUp(int64_t n) {
  return (n + kBufferAlign - 1) / kBufferAlign * kBufferAlign;
}

/// The value whose bytes `v` reinterprets (itself unless a view).
static const Value *rootOf(const Value *v) {
  while (v->producer && v->producer->def->isView)
    v = v->producer->operands[0];
  return v;
}

BufferPlan planBuffers(const Graph &g) {
  BufferPlan plan;
  for (size_t i = 0; i < g.inputs.size(); ++i)
    plan.storage[g.inputs[i]] = {Storage::Kind::Input, int(i), 0};
  for (const Value *w : g.weights) {
    plan.storage[w] = {Storage::Kind::Weight, 0, plan.weightBytes};
    plan.weightBytes += alignUp(w->numElements() * 4);
  }
  // Outputs produced by an op write straight into the caller's buffer.
  for (size_t i = 0; i < g.outputs.size(); ++i) {
    const Value *root = rootOf(g.outputs[i].second);
    if (root->kind == Value::Kind::Result && !plan.storage.count(root))
      plan.storage[root] = {Storage::Kind::Output, int(i), 0};
    else
      plan.outputCopies.push_back({int(i), g.outputs[i].second});
  }
  for (const auto &op : g.ops)
    for (const Value *r : op->results) {
      if (op->def->isView || plan.storage.count(r))
        continue;
      plan.storage[r] = {Storage::Kind::Arena, 0, plan.arenaBytes};
      plan.arenaBytes += alignUp(r->numElements() * 4);
    }
  // Views share the storage of the value they reinterpret.
  for (const auto &op : g.ops)
    if (op->def->isView)
      for (const Value *r : op->results) {
        auto it = plan.storage.find(rootOf(r));
        KILN_ASSERT(it != plan.storage.end(), "view of an unplanned value");
        plan.storage[r] = it->second;
      }
  return plan;
}

} // namespace kiln
