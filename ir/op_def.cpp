// Constructors of kernel parameter initialisers.
#include "ir/op_def.h"

#include <algorithm>

namespace kiln {

std::vector<int> kernelArgs(const Op &op, const KernelCall &kc) {
  if (!kc.args.empty())
    return kc.args;
  std::vector<int> a;
  size_t slots = std::max(op.operands.size(), op.def->operands.size());
  for (size_t i = 0; i < slots; ++i)
    a.push_back(int(i));
  for (size_t j = 0; j < op.results.size(); ++j)
    a.push_back(-1 - int(j));
  return a;
}

KernelParam KernelParam::integer(std::string name, int64_t v) {
  KernelParam p;
  p.kind = Kind::Int;
  p.name = std::move(name);
  p.i = v;
  return p;
}

KernelParam KernelParam::real(std::string name, double v) {
  KernelParam p;
  p.kind = Kind::Float;
  p.name = std::move(name);
  p.f = v;
  return p;
}

KernelParam KernelParam::array(std::string name, std::vector<int64_t> v) {
  KernelParam p;
  p.kind = Kind::Ints;
  p.name = std::move(name);
  p.ints = std::move(v);
  return p;
}

KernelParam KernelParam::group(std::string name,
                               std::vector<KernelParam> fields) {
  KernelParam p;
  p.kind = Kind::Struct;
  p.name = std::move(name);
  p.fields = std::move(fields);
  return p;
}

} // namespace kiln
