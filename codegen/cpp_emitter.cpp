// The C++ source emitter.
#include "codegen/cpp_emitter.h"

#include "support/error.h"

#include <cmath>
#include <cstdio>

namespace kiln {

void CppEmitter::includeSystem(const std::string &h) {
  if (seen_.insert("<" + h + ">").second)
    includes_.push_back("#include <" + h + ">");
}

void CppEmitter::includeLocal(const std::string &h) {
  if (seen_.insert("\"" + h + "\"").second)
    includes_.push_back("#include \"" + h + "\"");
}

void CppEmitter::line(const std::string &text) {
  if (!text.empty())
    body_ += std::string(size_t(indent_) * 2, ' ') + text;
  body_ += "\n";
}

void CppEmitter::comment(const std::string &text) {
  std::string t;
  for (char c : text)
    t += (c == '\n' || c == '\r') ? ' ' : c;
  // A trailing backslash would continue the comment onto the next line.
  while (!t.empty() && t.back() == '\\')
    t.pop_back();
  line("// " + t);
}

void CppEmitter::open(const std::string &head) {
  line(head + " {");
  ++indent_;
}

void CppEmitter::close(const std::string &tail) {
  KILN_ASSERT(indent_ > 0, "unbalanced close");
  --indent_;
  line("}" + tail);
}

void CppEmitter::openNamespace(const std::string &name) {
  line(name.empty() ? "namespace {" : "namespace " + name + " {");
}

void CppEmitter::closeNamespace(const std::string &name) {
  line(name.empty() ? "} // namespace" : "} // namespace " + name);
}

void CppEmitter::raw(const std::string &text) { body_ += text; }

std::string CppEmitter::str(const std::string &banner) const {
  std::string s;
  size_t start = 0;
  while (start < banner.size()) {
    size_t nl = banner.find('\n', start);
    if (nl == std::string::npos)
      nl = banner.size();
    s += "// " + banner.substr(start, nl - start) + "\n";
    start = nl + 1;
  }
  if (pragmaOnce_)
    s += "\n#pragma once\n";
  if (!includes_.empty()) {
    s += "\n";
    for (const auto &i : includes_)
      s += i + "\n";
  }
  return s + "\n" + body_;
}

std::string CppEmitter::stringLiteral(const std::string &text) {
  std::string s = "\"";
  for (unsigned char c : text) {
    if (c == '"' || c == '\\') {
      s += '\\';
      s += char(c);
    } else if (c < 0x20 || c >= 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\%03o", c);
      s += buf;
    } else if (c == '?') {
      s += "\\?"; // no trigraphs
    } else {
      s += char(c);
    }
  }
  return s + "\"";
}

std::string CppEmitter::floatLiteral(float v) {
  if (std::isnan(v))
    return "__builtin_nanf(\"\")";
  if (std::isinf(v))
    return v > 0 ? "__builtin_inff()" : "-__builtin_inff()";
  if (v == 0)
    return std::signbit(v) ? "-0.0f" : "0.0f";
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.9gf", double(v));
  std::string s = buf;
  if (s.find_first_of(".eE") == std::string::npos)
    s.insert(s.size() - 1, ".0");
  return s;
}

} // namespace kiln
