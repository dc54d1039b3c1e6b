// Small string helpers.
#include "support/strings.h"

#include <algorithm>
#include <cctype>

namespace kiln {

size_t editDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j)
    row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      row[j] = std::min(
          {row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

std::string nearest(std::string_view word,
                    const std::vector<std::string> &candidates) {
  std::string best;
  size_t bestD = std::max<size_t>(3, word.size() / 2) + 1;
  for (const auto &c : candidates) {
    size_t d = editDistance(word, c);
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return best;
}

std::string didYouMean(std::string_view word,
                       const std::vector<std::string> &candidates) {
  std::string n = nearest(word, candidates);
  return n.empty() ? "" : " (did you mean \"" + n + "\"?)";
}

bool isSafeIdentifier(std::string_view s) {
  static const char *const keywords[] = {"alignas",
                                         "alignof",
                                         "and",
                                         "and_eq",
                                         "asm",
                                         "auto",
                                         "bitand",
                                         "bitor",
                                         "bool",
                                         "break",
                                         "case",
                                         "catch",
                                         "char",
                                         "char8_t",
                                         "char16_t",
                                         "char32_t",
                                         "class",
                                         "compl",
                                         "concept",
                                         "const",
                                         "consteval",
                                         "constexpr",
                                         "constinit",
                                         "const_cast",
                                         "continue",
                                         "co_await",
                                         "co_return",
                                         "co_yield",
                                         "decltype",
                                         "default",
                                         "delete",
                                         "do",
                                         "double",
                                         "dynamic_cast",
                                         "else",
                                         "enum",
                                         "explicit",
                                         "export",
                                         "extern",
                                         "false",
                                         "float",
                                         "for",
                                         "friend",
                                         "goto",
                                         "if",
                                         "inline",
                                         "int",
                                         "long",
                                         "mutable",
                                         "namespace",
                                         "new",
                                         "noexcept",
                                         "not",
                                         "not_eq",
                                         "nullptr",
                                         "operator",
                                         "or",
                                         "or_eq",
                                         "private",
                                         "protected",
                                         "public",
                                         "register",
                                         "reinterpret_cast",
                                         "requires",
                                         "restrict",
                                         "return",
                                         "short",
                                         "signed",
                                         "sizeof",
                                         "static",
                                         "static_assert",
                                         "static_cast",
                                         "struct",
                                         "switch",
                                         "template",
                                         "this",
                                         "thread_local",
                                         "throw",
                                         "true",
                                         "try",
                                         "typedef",
                                         "typeid",
                                         "typename",
                                         "union",
                                         "unsigned",
                                         "using",
                                         "virtual",
                                         "void",
                                         "volatile",
                                         "wchar_t",
                                         "while",
                                         "xor",
                                         "xor_eq",
                                         "_Bool",
                                         "_Complex",
                                         "_Imaginary",
                                         "_Alignas",
                                         "_Alignof",
                                         "_Atomic",
                                         "_Generic",
                                         "_Noreturn",
                                         "_Static_assert",
                                         "_Thread_local",
                                         "main",
                                         "std",
                                         "kiln_rt"};
  if (s.empty() || s.size() > 64 ||
      !(std::isalpha((unsigned char)s[0]) || s[0] == '_'))
    return false;
  for (char c : s)
    if (!(std::isalnum((unsigned char)c) || c == '_'))
      return false;
  // Reserved identifiers (leading underscore + capital, double underscore).
  if (s.find("__") != std::string_view::npos ||
      (s[0] == '_' && s.size() > 1 && std::isupper((unsigned char)s[1])))
    return false;
  for (const char *k : keywords)
    if (s == k)
      return false;
  return true;
}

std::string joinQuoted(const std::vector<std::string> &items) {
  std::string s;
  for (size_t i = 0; i < items.size(); ++i)
    s += (i ? ", \"" : "\"") + items[i] + "\"";
  return s;
}

} // namespace kiln
