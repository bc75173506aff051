// Which SIMD instruction set the CPU kernels use. Detected once from CPUID; a wheel is
// built for baseline x86-64 and picks its micro-kernels here at run time. Elsewhere (aarch64,
// a universal macOS build) only the portable kernels exist, and the ISA is always "scalar".
#pragma once
#include <string>
#include <vector>

// 1 where the build has the AVX2 and AVX-512 micro-kernels (csrc/cpu/*_avx2.cpp,
// *_avx512.cpp), which CMakeLists.txt compiles for x86-64 targets alone and says so here; a
// build by hand (tests, benchmarks) follows the compiler's target.
#ifndef FG_X86_64_KERNELS
#if defined(__x86_64__) || defined(_M_X64)
#define FG_X86_64_KERNELS 1
#else
#define FG_X86_64_KERNELS 0
#endif
#endif

namespace fg {

// Scalar: the portable C++ kernels, which the compiler vectorizes for the baseline of the
// target (SSE2 on x86-64, NEON on aarch64). AVX2 means AVX2 + FMA.
enum class Isa { Scalar = 0, AVX2 = 1, AVX512 = 2 };

const char* isa_name(Isa isa);
Isa detected_isa();            // the best the CPU and OS support
Isa active_isa();              // what the kernels use now (detected unless overridden)
void set_active_isa(Isa isa);  // ValueError if the CPU lacks it; for tests and benchmarks
std::vector<std::string> cpu_feature_names();  // e.g. {"avx2", "fma"}

int get_num_threads();
void set_num_threads(int n);  // ValueError unless n >= 1

}  // namespace fg
