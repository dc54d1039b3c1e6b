// A minimal Cortex-M4 startup (no vendor files): the vector table (initial
// stack pointer, reset handler, default handlers), and the reset handler,
// which copies .data from flash to RAM, zeroes .bss, enables the FPU
// (the model is built with -mfloat-abi=hard) and calls main. Link with
// cortex_m4.ld. Used by examples/firmware_cortex_m4/run.sh and by
// tests/e2e/firmware_cortex_m4.sh.
#include <stdint.h>

extern "C" {
// Defined by cortex_m4.ld.
extern uint32_t _sidata, _sdata, _edata, _sbss, _ebss, _estack;
int main();

[[noreturn]] void Reset_Handler() {
  for (uint32_t *s = &_sidata, *d = &_sdata; d < &_edata;)
    *d++ = *s++;
  for (uint32_t *d = &_sbss; d < &_ebss;)
    *d++ = 0;
  // CPACR: full access to the coprocessors CP10 and CP11 (the FPU), before
  // any floating-point instruction runs.
  *reinterpret_cast<volatile uint32_t *>(0xE000ED88) |= 0xFu << 20;
  __asm__ volatile("dsb\n\tisb" ::: "memory");
  main();
  for (;;) {
  }
}

[[noreturn]] void Default_Handler() {
  for (;;) {
  }
}

// Initial stack pointer, reset, NMI, hard fault (the rest are unused here).
__attribute__((section(".isr_vector"), used)) const void *const vectors[] = {
    &_estack, reinterpret_cast<const void *>(&Reset_Handler),
    reinterpret_cast<const void *>(&Default_Handler),
    reinterpret_cast<const void *>(&Default_Handler)};
}
