// Pass cse: common-subexpression elimination. Two ops of the same kind with
// the same operands and attributes compute the same values; the later one
// is replaced by the earlier.
#include "ir/op_def.h"
#include "ir/printer.h"
#include "passes/pass.h"

#include <map>

namespace kiln {
namespace {

class Cse : public Pass {
public:
  const char *name() const override { return "cse"; }
  const char *description() const override {
    return "merge ops that compute the same values";
  }
  bool run(Graph &g) override {
    bool changed = false;
    std::map<std::string, Op *> seen;
    for (size_t i = 0; i < g.ops.size();) {
      Op *op = g.ops[i].get();
      std::string key = keyOf(*op);
      auto [it, fresh] = seen.emplace(key, op);
      if (fresh) {
        ++i;
        continue;
      }
      for (size_t r = 0; r < op->results.size(); ++r)
        g.replaceAllUsesWith(op->result(r), it->second->result(r));
      g.eraseOp(op);
      changed = true;
    }
    return changed;
  }

private:
  /// The op kind, its operands by identity, and its attributes.
  static std::string keyOf(const Op &op) {
    std::string k = op.name();
    for (const Value *v : op.operands)
      k += "|" + std::to_string(reinterpret_cast<uintptr_t>(v));
    for (const auto &[name, value] : op.attrs)
      k += "|" + name + "=" + attrToString(value);
    return k;
  }
};

} // namespace

std::unique_ptr<Pass> createCse() { return std::make_unique<Cse>(); }

} // namespace kiln
