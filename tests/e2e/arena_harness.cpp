// Host-side check of the code Kiln generates for a single-input,
// single-output model: the arena is exactly as large as the run needs, the
// run never reads arena memory it did not write first, never writes past the
// arena, and rejects bad arguments. Built by arena_check.sh together with the
// generated NAME.cpp, under AddressSanitizer and UBSan:
//   c++ ... -I OUT -DKILN_MODEL_HEADER='"NAME.h"' -DKILN_MODEL_NAME=NAME
//       arena_harness.cpp OUT/NAME.cpp
// usage: arena_harness INPUT.npy EXPECTED.npy
//
// Checks, each failure a message naming it and a non-zero exit:
//   - the input and expected files have the model's declared shapes;
//   - run 1 (arena filled with 0x00) and run 2 (arena filled with 0xFF, NaN
//     bit patterns) return 0 and give bitwise identical outputs;
//   - the 4 KiB guard region after the arena is untouched (and, under ASan,
//     poisoned during the runs so that even a read of it aborts);
//   - the input is not modified;
//   - the arena is tight: the last byte either run changed lies in the final
//     64-byte block, alignUp(last_written + 1, 64) == kArenaBytes (unless
//     kArenaBytes is 0);
//   - NAME_run returns 1 for a null output (and a null input) and 2 for a
//     misaligned arena (arena + 4), writing nothing in either case;
//   - the output matches the expected one within 1e-5 of max |expected|.
#include KILN_MODEL_HEADER

#include "kiln/npy.h"

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#if defined(__SANITIZE_ADDRESS__)
#define KILN_HARNESS_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define KILN_HARNESS_ASAN 1
#endif
#endif
#ifdef KILN_HARNESS_ASAN
#include <sanitizer/asan_interface.h>
#define GUARD_POISON(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define GUARD_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define GUARD_POISON(p, n) ((void)(p), (void)(n))
#define GUARD_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

#ifndef KILN_MODEL_NAME
#error "define KILN_MODEL_NAME to the model's name (its namespace)"
#endif
#define KILN_CAT2(a, b) a##b
#define KILN_CAT(a, b) KILN_CAT2(a, b)
#define KILN_STR2(a) #a
#define KILN_STR(a) KILN_STR2(a)

namespace kh_model = KILN_MODEL_NAME;
#define MODEL_RUN KILN_CAT(KILN_MODEL_NAME, _run)

static_assert(kh_model::kNumInputs == 1 && kh_model::kNumOutputs == 1,
              "arena_harness handles single-input, single-output models");

namespace {

constexpr size_t kAlign = 64;
constexpr size_t kGuardBytes = 4096;
constexpr unsigned char kGuardFill = 0xA5;
constexpr unsigned char kOutputFill = 0x5A;
const char *const kName = KILN_STR(KILN_MODEL_NAME);

size_t align_up(size_t n) { return (n + kAlign - 1) / kAlign * kAlign; }

[[noreturn]] void fail(const std::string &what) {
  std::fprintf(stderr, "arena_harness (%s): FAIL: %s\n", kName, what.c_str());
  std::exit(1);
}

std::string hex(unsigned char b) {
  char s[8];
  std::snprintf(s, sizeof s, "0x%02X", unsigned(b));
  return s;
}

std::string shape_str(const std::vector<int64_t> &s) {
  std::string r = "[";
  for (size_t i = 0; i < s.size(); ++i)
    r += (i ? ", " : "") + std::to_string(s[i]);
  return r + "]";
}

std::vector<float> read_npy(const char *path, const char *what,
                            const int64_t *want_shape, int want_rank) {
  std::vector<int64_t> shape;
  std::vector<float> data;
  std::string err;
  if (!kiln_npy::read_f32(path, shape, data, err))
    fail(std::string(what) + ": " + err);
  std::vector<int64_t> want(want_shape, want_shape + want_rank);
  if (shape != want)
    fail(std::string(what) + " " + path + ": expected shape " +
         shape_str(want) + ", found " + shape_str(shape));
  return data;
}

/// The arena followed by its guard, in one 64-byte aligned block.
struct Arena {
  unsigned char *base = nullptr;
  unsigned char *guard = nullptr;
  size_t bytes = kh_model::kArenaBytes;

  Arena() {
    // aligned_alloc wants a size that is a multiple of the alignment.
    base = static_cast<unsigned char *>(
        std::aligned_alloc(kAlign, align_up(bytes + kGuardBytes)));
    if (!base)
      fail("cannot allocate " + std::to_string(bytes + kGuardBytes) + " bytes");
    guard = base + bytes;
  }
  ~Arena() { std::free(base); }
  Arena(const Arena &) = delete;
  Arena &operator=(const Arena &) = delete;

  /// Fills the arena with `fill` and the guard with kGuardFill.
  void reset(unsigned char fill) {
    GUARD_UNPOISON(guard, kGuardBytes);
    std::memset(base, fill, bytes);
    std::memset(guard, kGuardFill, kGuardBytes);
  }
  void poison_guard() { GUARD_POISON(guard, kGuardBytes); }
  void check_guard(const char *run) {
    GUARD_UNPOISON(guard, kGuardBytes);
    for (size_t i = 0; i < kGuardBytes; ++i)
      if (guard[i] != kGuardFill)
        fail(std::string(run) + ": the run wrote past the arena: guard byte " +
             std::to_string(i) + " (arena offset " + std::to_string(bytes + i) +
             ") changed from " + hex(kGuardFill) + " to " + hex(guard[i]));
  }
  /// Index of the last arena byte that differs from `fill`, or -1.
  long last_changed(unsigned char fill) const {
    for (size_t i = bytes; i-- > 0;)
      if (base[i] != fill)
        return long(i);
    return -1;
  }
};

/// Runs the model with the arena filled with `fill`; returns the output and
/// sets `last` to the last arena byte the run changed (-1: none).
std::vector<float> run_with_fill(Arena &arena, unsigned char fill,
                                 const std::vector<float> &input,
                                 const char *label, long &last) {
  std::vector<float> in = input; // the model must not write it
  std::vector<float> out(kh_model::kOutput0Elements);
  std::memset(out.data(), kOutputFill, out.size() * sizeof(float));
  arena.reset(fill);
  arena.poison_guard();
  int rc = MODEL_RUN(in.data(), out.data(), arena.base);
  arena.check_guard(label);
  if (rc != 0)
    fail(std::string(label) + ": " + kName + "_run returned " +
         std::to_string(rc) + ", expected 0");
  if (std::memcmp(in.data(), input.data(), in.size() * sizeof(float)) != 0)
    fail(std::string(label) + ": the run modified its (const) input");
  last = arena.last_changed(fill);
  return out;
}

void check_rejected(Arena &arena, const std::vector<float> &input,
                    bool null_input, bool null_output, size_t arena_offset,
                    int want, const char *what) {
  std::vector<float> out(kh_model::kOutput0Elements);
  std::memset(out.data(), kOutputFill, out.size() * sizeof(float));
  arena.reset(0xEE);
  arena.poison_guard();
  int rc =
      MODEL_RUN(null_input ? nullptr : input.data(),
                null_output ? nullptr : out.data(), arena.base + arena_offset);
  arena.check_guard(what);
  if (rc != want)
    fail(std::string(kName) + "_run with " + what + " returned " +
         std::to_string(rc) + ", expected " + std::to_string(want));
  if (arena.last_changed(0xEE) >= 0)
    fail(std::string(kName) + "_run with " + what +
         " wrote to the arena before rejecting it");
  for (size_t i = 0; i < out.size() * sizeof(float); ++i)
    if (reinterpret_cast<const unsigned char *>(out.data())[i] != kOutputFill)
      fail(std::string(kName) + "_run with " + what +
           " wrote to the output before rejecting it");
}

} // namespace

int main(int argc, char **argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s INPUT.npy EXPECTED.npy\n", argv[0]);
    return 2;
  }
  const std::vector<float> input =
      read_npy(argv[1], "input", kh_model::kInput0Shape, kh_model::kInput0Rank);
  const std::vector<float> expected =
      read_npy(argv[2], "expected output", kh_model::kOutput0Shape,
               kh_model::kOutput0Rank);
  if (kh_model::kArenaAlign != kAlign)
    fail("kArenaAlign is " + std::to_string(kh_model::kArenaAlign) +
         ", this harness assumes 64");

  Arena arena;

  // Runs 1 and 2: zeros, then all-ones bytes (NaN as float32). Identical
  // outputs mean no arena byte was read before the run wrote it.
  long last0 = -1, last1 = -1;
  std::vector<float> out0 =
      run_with_fill(arena, 0x00, input, "run 1 (0x00)", last0);
  std::vector<float> out1 =
      run_with_fill(arena, 0xFF, input, "run 2 (0xFF)", last1);
  for (size_t i = 0; i < out0.size(); ++i)
    if (std::memcmp(&out0[i], &out1[i], sizeof(float)) != 0)
      fail("output element " + std::to_string(i) +
           " differs between an arena "
           "of 0x00 (" +
           std::to_string(out0[i]) + ") and one of 0xFF (" +
           std::to_string(out1[i]) +
           "): the run read arena memory it had "
           "not written");

  // Every byte the run writes differs from 0x00 or from 0xFF, so the last
  // written byte is the later of the two last changed ones.
  const long last = last0 > last1 ? last0 : last1;
  const size_t used = size_t(last + 1);
  if (kh_model::kArenaBytes != 0 && align_up(used) != kh_model::kArenaBytes)
    fail("the arena is not tight: kArenaBytes = " +
         std::to_string(kh_model::kArenaBytes) +
         " but the run wrote only the first " + std::to_string(used) +
         " bytes (alignUp(" + std::to_string(used) +
         ", 64) = " + std::to_string(align_up(used)) + ")");
  if (kh_model::kArenaBytes == 0 && last >= 0)
    fail("kArenaBytes is 0 but the run changed arena byte " +
         std::to_string(last));

  // Argument checks: nothing written when the call is rejected.
  check_rejected(arena, input, false, true, 0, 1, "a null output pointer");
  check_rejected(arena, input, true, false, 0, 1, "a null input pointer");
  check_rejected(arena, input, false, false, 4, 2,
                 "a misaligned arena (arena + 4)");

  // Accuracy against the expected output.
  double scale = 0, err = 0;
  for (size_t i = 0; i < expected.size(); ++i) {
    bool en = std::isnan(expected[i]), on = std::isnan(out0[i]);
    if (en != on)
      fail("output element " + std::to_string(i) + " is " +
           std::to_string(out0[i]) + ", expected " +
           std::to_string(expected[i]));
    if (en)
      continue;
    scale = std::fmax(scale, std::fabs(double(expected[i])));
    err = std::fmax(err, std::fabs(double(out0[i]) - double(expected[i])));
  }
  const double rel = scale > 0 ? err / scale : err;
  if (!(rel <= 1e-5))
    fail("output differs from the expected one: max |error| " +
         std::to_string(err) + " = " + std::to_string(rel) +
         " of max |expected| " + std::to_string(scale) + " (limit 1e-5)");

  std::printf("arena_harness (%s): PASS: arena %zu bytes (last byte written "
              "%ld, guard %zu bytes untouched), weights %zu bytes, max |error| "
              "%.3g (%.3g of max |expected| %.6g)\n",
              kName, size_t(kh_model::kArenaBytes), last, kGuardBytes,
              size_t(kh_model::kWeightBytes), err, rel, scale);
  return 0;
}
