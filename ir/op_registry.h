// The table of all op kinds.
#pragma once

#include "ir/op_def.h"

#include <string_view>
#include <vector>

namespace kiln {

/// Every op kind, in a stable order.
const std::vector<const OpDef *> &allOps();

/// The op kind named `name`, or nullptr.
const OpDef *findOp(std::string_view name);

/// The op kind named `name`; asserts that it exists (for builders).
const OpDef &getOp(std::string_view name);

} // namespace kiln
