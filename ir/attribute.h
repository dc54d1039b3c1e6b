// Op attributes: typed constants attached to an op (stride, padding, ...).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <variant>
#include <vector>

namespace kiln {

/// The kinds an attribute value can have.
enum class AttrKind { Int, Float, Bool, String, Ints };

/// One attribute value.
using Attr =
    std::variant<int64_t, double, bool, std::string, std::vector<int64_t>>;

/// An op's attributes, ordered by name so that printing is stable.
using AttrMap = std::map<std::string, Attr>;

/// The kind of a value.
AttrKind attrKind(const Attr &a);

/// Name of a kind, for messages (`int`, `float`, `bool`, `string`, `ints`).
const char *attrKindName(AttrKind k);

/// Textual IR form: `3`, `0.25`, `true`, `"zeros"`, `[1, 2]`. Floats always
/// carry a `.` or an exponent and print with enough digits to round-trip.
std::string attrToString(const Attr &a);

} // namespace kiln
