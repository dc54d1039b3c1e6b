// Kiln runtime: the command-line program around a compiled model, used by
// `kiln build` (hosted targets only: reads and writes .npy files).
//   prog [--input NAME=FILE.npy]... [--output NAME=FILE.npy]... [--bench N]
#pragma once

#include "npy.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

namespace kiln_program {

/// One model input or output.
struct Tensor {
  const char *name;
  int rank;
  const int64_t *shape;
  size_t elements;
};

/// What the program needs to know about the compiled model.
struct Model {
  const char *name;
  int num_inputs, num_outputs;
  const Tensor *inputs, *outputs;
  size_t arena_bytes, arena_align;
  int (*run)(const float *const *in, float *const *out, void *arena);
};

namespace detail {

inline std::string shape_str(const std::vector<int64_t> &s) {
  std::string r = "[";
  for (size_t i = 0; i < s.size(); ++i)
    r += (i ? ", " : "") + std::to_string(s[i]);
  return r + "]";
}

inline std::vector<int64_t> shape_of(const Tensor &t) {
  return std::vector<int64_t>(t.shape, t.shape + t.rank);
}

inline int usage(const Model &m) {
  std::fprintf(stderr,
               "usage: %s [--input NAME=FILE.npy]... [--output "
               "NAME=FILE.npy]... [--bench N]\n",
               m.name);
  for (int i = 0; i < m.num_inputs; ++i)
    std::fprintf(stderr, "  input  %s: float32 %s\n", m.inputs[i].name,
                 shape_str(shape_of(m.inputs[i])).c_str());
  for (int i = 0; i < m.num_outputs; ++i)
    std::fprintf(stderr, "  output %s: float32 %s\n", m.outputs[i].name,
                 shape_str(shape_of(m.outputs[i])).c_str());
  return 2;
}

inline int find(const Tensor *ts, int n, const std::string &name) {
  for (int i = 0; i < n; ++i)
    if (name == ts[i].name)
      return i;
  return -1;
}

inline void print_tensor(const Tensor &t, const float *data) {
  std::printf("%s: float32 %s\n", t.name, shape_str(shape_of(t)).c_str());
  size_t row = t.rank ? size_t(t.shape[t.rank - 1]) : 1;
  for (size_t i = 0; i < t.elements; ++i)
    std::printf("%s%.9g%s", i % row ? " " : "  ", double(data[i]),
                (i + 1) % row == 0 || i + 1 == t.elements ? "\n" : "");
}

} // namespace detail

/// Parses the command line, runs the model and writes or prints outputs.
/// Returns the process exit code.
/// Whether this CPU has the instruction sets the program was compiled for
/// (x86: the AVX-512, AVX2 and FMA macros of -march); if not, says which
/// one is missing. Checked once, before anything runs.
inline bool cpu_supports_build(const char *prog) {
#if defined(__x86_64__) && defined(__GNUC__)
  __builtin_cpu_init();
  struct Need {
    bool built;
    bool present;
    const char *name;
  };
  const Need needs[] = {
#ifdef __AVX512F__
      {true, __builtin_cpu_supports("avx512f") != 0, "AVX-512F"},
#endif
#ifdef __AVX512BW__
      {true, __builtin_cpu_supports("avx512bw") != 0, "AVX-512BW"},
#endif
#ifdef __AVX512DQ__
      {true, __builtin_cpu_supports("avx512dq") != 0, "AVX-512DQ"},
#endif
#ifdef __AVX512VL__
      {true, __builtin_cpu_supports("avx512vl") != 0, "AVX-512VL"},
#endif
#ifdef __AVX2__
      {true, __builtin_cpu_supports("avx2") != 0, "AVX2"},
#endif
#ifdef __FMA__
      {true, __builtin_cpu_supports("fma") != 0, "FMA"},
#endif
      {false, true, ""},
  };
  for (const Need &n : needs)
    if (n.built && !n.present) {
      std::fprintf(stderr,
                   "%s: this program was built for a CPU with %s, which this "
                   "CPU lacks; build it for this one (kiln build --cpu=native) "
                   "or an older one (e.g. --cpu=x86-64-v2)\n",
                   prog, n.name);
      return false;
    }
#else
  (void)prog;
#endif
  return true;
}

inline int main(int argc, char **argv, const Model &m) {
  using namespace detail;
  if (!cpu_supports_build(m.name))
    return 3;
  std::vector<std::string> in_files(size_t(m.num_inputs)),
      out_files(size_t(m.num_outputs));
  long bench = 0;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if ((a == "--input" || a == "--output" || a == "--bench") && i + 1 < argc) {
      std::string v = argv[++i];
      if (a == "--bench") {
        char *end = nullptr;
        bench = std::strtol(v.c_str(), &end, 10);
        if (*end || bench < 1) {
          std::fprintf(stderr,
                       "%s: --bench expects a positive count, got '%s'\n",
                       m.name, v.c_str());
          return 2;
        }
        continue;
      }
      size_t eq = v.find('=');
      bool input = a == "--input";
      int n = input ? m.num_inputs : m.num_outputs;
      const Tensor *ts = input ? m.inputs : m.outputs;
      // NAME=FILE, or just FILE when the model has one such tensor.
      std::string name = eq == std::string::npos ? (n == 1 ? ts[0].name : "")
                                                 : v.substr(0, eq);
      std::string file = eq == std::string::npos ? v : v.substr(eq + 1);
      int idx = find(ts, n, name);
      if (idx < 0) {
        std::fprintf(stderr, "%s: %s '%s': the model has no %s named '%s'\n",
                     m.name, a.c_str(), v.c_str(), input ? "input" : "output",
                     name.c_str());
        return usage(m);
      }
      (input ? in_files : out_files)[size_t(idx)] = file;
    } else if (a == "--help" || a == "-h") {
      usage(m);
      return 0;
    } else {
      std::fprintf(stderr, "%s: unexpected argument '%s'\n", m.name, a.c_str());
      return usage(m);
    }
  }
  std::vector<std::vector<float>> inputs(size_t(m.num_inputs));
  for (int i = 0; i < m.num_inputs; ++i) {
    const Tensor &t = m.inputs[i];
    if (in_files[size_t(i)].empty()) {
      std::fprintf(stderr, "%s: missing --input %s=FILE.npy\n", m.name, t.name);
      return usage(m);
    }
    std::vector<int64_t> shape;
    std::string err;
    if (!kiln_npy::read_f32(in_files[size_t(i)].c_str(), shape,
                            inputs[size_t(i)], err)) {
      std::fprintf(stderr, "%s: input %s: %s\n", m.name, t.name, err.c_str());
      return 1;
    }
    if (shape != shape_of(t)) {
      std::fprintf(stderr, "%s: %s: input %s must have shape %s, found %s\n",
                   m.name, in_files[size_t(i)].c_str(), t.name,
                   shape_str(shape_of(t)).c_str(), shape_str(shape).c_str());
      return 1;
    }
  }
  std::vector<std::vector<float>> outputs(size_t(m.num_outputs));
  std::vector<const float *> in_ptrs;
  std::vector<float *> out_ptrs;
  for (auto &v : inputs)
    in_ptrs.push_back(v.data());
  for (int i = 0; i < m.num_outputs; ++i) {
    outputs[size_t(i)].resize(m.outputs[i].elements);
    out_ptrs.push_back(outputs[size_t(i)].data());
  }
  std::vector<unsigned char> arena_store(m.arena_bytes + m.arena_align);
  void *arena = arena_store.data();
  size_t space = arena_store.size();
  arena = std::align(m.arena_align, m.arena_bytes ? m.arena_bytes : 1, arena,
                     space);
  int rc = m.run(in_ptrs.data(), out_ptrs.data(), arena);
  if (rc != 0) {
    std::fprintf(stderr, "%s: the model returned error %d\n", m.name, rc);
    return 1;
  }
  if (bench > 0) {
    std::vector<double> ms;
    for (long r = 0; r < bench; ++r) {
      auto t0 = std::chrono::steady_clock::now();
      m.run(in_ptrs.data(), out_ptrs.data(), arena);
      auto t1 = std::chrono::steady_clock::now();
      ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
    }
    std::sort(ms.begin(), ms.end());
    std::printf("%s: median %.4f ms over %ld runs (min %.4f, max %.4f)\n",
                m.name, ms[ms.size() / 2], bench, ms.front(), ms.back());
  }
  for (int i = 0; i < m.num_outputs; ++i) {
    const Tensor &t = m.outputs[i];
    if (out_files[size_t(i)].empty()) {
      if (bench == 0)
        print_tensor(t, outputs[size_t(i)].data());
      continue;
    }
    std::string err;
    if (!kiln_npy::write_f32(out_files[size_t(i)].c_str(), shape_of(t),
                             outputs[size_t(i)].data(), err)) {
      std::fprintf(stderr, "%s: output %s: %s\n", m.name, t.name, err.c_str());
      return 1;
    }
  }
  return 0;
}

} // namespace kiln_program
