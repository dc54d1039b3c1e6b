// Transparent huge pages for a run that reads a large weights file.
//
// Compiling a model with hundreds of MB of weights is mostly copying them
// through fresh buffers (the file, the IR's tensors, the packed layouts, the
// blob or the LLVM constant; then the assembler's and linker's copies), and
// on a kernel whose transparent huge pages are `madvise` (Debian's default)
// each 4 KiB page of each buffer costs a page fault. glibc backs its large
// blocks with huge pages when its tunable glibc.malloc.hugetlb=1 is set,
// which it reads only at start-up; so before reading such a file the driver
// executes itself again with the tunable added (the compilers it runs then
// inherit it). AlexNet (244 MB) on a 2-vCPU EPYC: `kiln compile` 3.3 ->
// 1.6 s, the LLVM object 9.5 -> 4.2 s, the static link 2.5 -> 1.4 s.
#pragma once

#include <string>

namespace kiln {

/// Remembers the command line to execute again (call first in main()).
void rememberCommandLine(int argc, char **argv);

/// Executes the driver again with glibc.malloc.hugetlb=1 in GLIBC_TUNABLES
/// when `weightsPath` is at least KILN_HUGE_PAGES_MIN_BYTES long (default
/// 64 MiB), the kernel's transparent huge pages are `madvise`, and the
/// tunable is not set yet (so at most once); KILN_HUGE_PAGES=0 turns it
/// off. The caller calls it only when executing again reads the same input
/// (the model JSON a regular file, not a pipe already consumed). Returns
/// (and the run goes on as it is) whenever it does not or cannot.
void useHugePagesFor(const std::string &weightsPath);

} // namespace kiln
