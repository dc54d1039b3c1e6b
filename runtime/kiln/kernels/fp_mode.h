// Kiln runtime: the floating-point mode of a model run. On x86, arithmetic
// on subnormal floats takes a microcode assist (on Intel cores about a
// hundred cycles per instruction); networks whose activations decay to
// 1e-38 (EfficientNet's squeeze-and-excitation gates, for one) then run at
// a fraction of their speed. A run sets flush-to-zero and
// denormals-are-zero (MXCSR bits 15 and 6) and restores the caller's mode
// when it returns: results differ from IEEE arithmetic only where a value
// is below 2^-126 in magnitude. Other targets keep their mode (AArch64 and
// Cortex-M FPUs take subnormals without a trap).
#pragma once

namespace kiln_rt {

/// Sets the run's floating-point mode; returns the caller's, for
/// fp_mode_leave().
inline unsigned fp_mode_enter() {
#if defined(__SSE__)
  const unsigned saved = __builtin_ia32_stmxcsr();
  __builtin_ia32_ldmxcsr(saved | 0x8040u);
  return saved;
#else
  return 0;
#endif
}

/// Restores the mode fp_mode_enter() returned.
inline void fp_mode_leave(unsigned saved) {
#if defined(__SSE__)
  __builtin_ia32_ldmxcsr(saved);
#else
  (void)saved;
#endif
}

/// The run's floating-point mode for the lifetime of the object.
struct RunFpMode {
  RunFpMode() : saved(fp_mode_enter()) {}
  ~RunFpMode() { fp_mode_leave(saved); }
  RunFpMode(const RunFpMode &) = delete;
  RunFpMode &operator=(const RunFpMode &) = delete;
  unsigned saved;
};

} // namespace kiln_rt
