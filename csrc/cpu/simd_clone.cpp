// Which FG_SIMD clone the loader runs on this CPU, for info() and its test: one function
// versioned on the same targets, so GCC's dispatcher picks its version by the same rule.
#include "cpu/parallel.h"
#include "kernels.h"

namespace fg::cpu {

#ifdef FG_SIMD_CLONES
// Callers must see every version to get the dispatcher, hence the versions live here only.
__attribute__((target("arch=x86-64-v4"))) static const char* versioned() { return "x86-64-v4"; }
__attribute__((target("arch=x86-64-v3"))) static const char* versioned() { return "x86-64-v3"; }
__attribute__((target("default"))) static const char* versioned() { return "default"; }
const char* simd_clone() { return versioned(); }
#else
const char* simd_clone() { return "default"; }
#endif

}  // namespace fg::cpu
