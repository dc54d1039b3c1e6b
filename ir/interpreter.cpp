// The reference interpreter.
#include "ir/interpreter.h"

#include "ir/op_def.h"
#include "support/error.h"

#include <unordered_map>

namespace kiln {

std::vector<std::vector<float>>
interpret(const Graph &g, const std::vector<std::vector<float>> &inputs,
          const ValueObserver &observe) {
  KILN_ASSERT(inputs.size() == g.inputs.size(), "wrong number of inputs");
  std::unordered_map<const Value *, std::vector<float>> values;
  auto data = [&](const Value *v) -> const float * {
    if (v->isWeight())
      return v->data->data();
    auto it = values.find(v);
    KILN_ASSERT(it != values.end(), "value used before definition: " + v->name);
    return it->second.data();
  };
  for (size_t i = 0; i < inputs.size(); ++i) {
    KILN_ASSERT(int64_t(inputs[i].size()) == g.inputs[i]->numElements(),
                "input size mismatch");
    values[g.inputs[i]] = inputs[i];
  }
  for (const auto &op : g.ops) {
    std::vector<const float *> in;
    for (const Value *v : op->operands)
      in.push_back(v ? data(v) : nullptr);
    while (!in.empty() && !in.back())
      in.pop_back();
    std::vector<float *> out;
    for (const Value *r : op->results) {
      auto &buf = values[r];
      buf.assign(size_t(r->numElements()), 0.0f);
      out.push_back(buf.data());
    }
    KILN_ASSERT(op->def->evaluate,
                std::string(op->name()) + " has no reference evaluation");
    op->def->evaluate(*op, in, out);
    if (observe)
      for (const Value *r : op->results)
        observe(*r, values.at(r));
  }
  std::vector<std::vector<float>> result;
  for (const auto &[name, v] : g.outputs) {
    const float *d = data(v);
    result.emplace_back(d, d + v->numElements());
  }
  return result;
}

} // namespace kiln
