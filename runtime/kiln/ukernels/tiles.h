// Kiln runtime: the register tile of each micro-kernel ISA, in one table
// that the ISA's primitives (vec.h) and the compiler's pack-weights pass
// (which chooses block heights and k chunks per layer) both read.
#pragma once

namespace kiln_rt {
namespace uk {

/// Lanes of a vector, vectors per tile row, most rows held in registers.
struct IsaTile {
  const char *isa;
  int lanes, vecs, max_rows;
};

/// The tile of every ISA (`portable`: GCC/Clang 4-float vectors; `scalar`:
/// one float, a Cortex-M's FPU). Every tile width divides kMaxNR (32), so
/// that weights packed in strips of 32 columns serve every ISA.
constexpr IsaTile kIsaTiles[] = {
    {"avx512", 16, 2, 12}, {"avx2", 8, 2, 6},   {"neon", 4, 2, 12},
    {"portable", 4, 2, 6}, {"scalar", 1, 4, 4},
};

constexpr bool same_name(const char *a, const char *b) {
  return *a == *b && (*a == 0 || same_name(a + 1, b + 1));
}

/// The tile of `isa` (the scalar one for a name not in the table).
constexpr IsaTile isa_tile(const char *isa) {
  for (const IsaTile &t : kIsaTiles)
    if (same_name(t.isa, isa))
      return t;
  return kIsaTiles[4];
}

} // namespace uk
} // namespace kiln_rt
