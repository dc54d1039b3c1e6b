// Conditions shared by the fusion passes.
#pragma once

#include "ir/graph.h"
#include "ir/op_def.h"

namespace kiln {

/// `v`'s producer, when it may absorb more work into its output: its only
/// user is `consumer`, `v` is not a model output, and it has no fused
/// activation yet (nothing may come after the activation). Else nullptr.
inline Op *soleProducer(const Graph &g, const Value *v, const Op *consumer) {
  Op *p = v ? v->producer : nullptr;
  if (!p || g.isOutput(v) || p->results.size() != 1)
    return nullptr;
  std::vector<Op *> users = g.users(v);
  if (users.size() != 1 || users[0] != consumer)
    return nullptr;
  if (p->attrs.count("activation"))
    return nullptr;
  return p;
}

} // namespace kiln
