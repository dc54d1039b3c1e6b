// Constructors of kernel parameter initialisers.
#include "ir/op_def.h"

namespace kiln {

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
