// Small string helpers: edit distance and "did you mean" suggestions,
// C identifier checks, joining.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace kiln {

/// Levenshtein distance between `a` and `b`.
size_t editDistance(std::string_view a, std::string_view b);

/// The candidate closest to `word`, or empty when none is close enough.
std::string nearest(std::string_view word,
                    const std::vector<std::string> &candidates);

/// ` (did you mean "x"?)` or empty.
std::string didYouMean(std::string_view word,
                       const std::vector<std::string> &candidates);

/// Whether `s` is a C identifier that is not a C or C++ keyword.
bool isSafeIdentifier(std::string_view s);

/// `a, b, c` with each item quoted.
std::string joinQuoted(const std::vector<std::string> &items);

} // namespace kiln
