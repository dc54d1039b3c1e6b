// Printing of op attributes.
#include "ir/attribute.h"

#include <cmath>
#include <cstdio>

namespace kiln {

AttrKind attrKind(const Attr &a) { return static_cast<AttrKind>(a.index()); }

const char *attrKindName(AttrKind k) {
  switch (k) {
  case AttrKind::Int:
    return "int";
  case AttrKind::Float:
    return "float";
  case AttrKind::Bool:
    return "bool";
  case AttrKind::String:
    return "string";
  case AttrKind::Ints:
    return "ints";
  }
  return "?";
}

static std::string floatToString(double v) {
  if (std::isnan(v))
    return "nan";
  if (std::isinf(v))
    return v > 0 ? "inf" : "-inf";
  char buf[64];
  // Shortest of %.17g that reads back exactly.
  for (int prec = 6; prec <= 17; ++prec) {
    std::snprintf(buf, sizeof buf, "%.*g", prec, v);
    if (std::strtod(buf, nullptr) == v)
      break;
  }
  std::string s = buf;
  if (s.find_first_of(".eE") == std::string::npos)
    s += ".0";
  return s;
}

std::string attrToString(const Attr &a) {
  switch (attrKind(a)) {
  case AttrKind::Int:
    return std::to_string(std::get<int64_t>(a));
  case AttrKind::Float:
    return floatToString(std::get<double>(a));
  case AttrKind::Bool:
    return std::get<bool>(a) ? "true" : "false";
  case AttrKind::String: {
    std::string s = "\"";
    for (char c : std::get<std::string>(a)) {
      if (c == '\n') {
        s += "\\n";
        continue;
      }
      if (c == '\t') {
        s += "\\t";
        continue;
      }
      if (c == '"' || c == '\\')
        s += '\\';
      s += c;
    }
    return s + "\"";
  }
  case AttrKind::Ints: {
    std::string s = "[";
    const auto &v = std::get<std::vector<int64_t>>(a);
    for (size_t i = 0; i < v.size(); ++i)
      s += (i ? ", " : "") + std::to_string(v[i]);
    return s + "]";
  }
  }
  return "";
}

} // namespace kiln
