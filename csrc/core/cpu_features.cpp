#include "core/cpu_features.h"

#include <atomic>
#include <cstdlib>
#include <cstring>

#include "core/error.h"
#include "cpu/parallel.h"

namespace fg {

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::AVX512: return "avx512";
    case Isa::AVX2: return "avx2";
    default: return "scalar";
  }
}

Isa detected_isa() {
  // __builtin_cpu_supports also checks that the OS saves the wide registers (XCR0).
  static const Isa isa = [] {
#if FG_X86_64_KERNELS
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") &&
        __builtin_cpu_supports("fma"))
      return Isa::AVX512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return Isa::AVX2;
#endif
    return Isa::Scalar;
  }();
  return isa;
}

static std::atomic<int>& active_isa_slot() {
  // FORGEGRAD_ISA=scalar|avx2|avx512 caps the instruction set (never above the CPU's).
  static std::atomic<int> slot{[] {
    int isa = static_cast<int>(detected_isa());
    if (const char* env = std::getenv("FORGEGRAD_ISA")) {
      int wanted = std::strcmp(env, "scalar") == 0 ? 0 : std::strcmp(env, "avx2") == 0 ? 1 : 2;
      if (wanted < isa) isa = wanted;
    }
    return isa;
  }()};
  return slot;
}

Isa active_isa() { return static_cast<Isa>(active_isa_slot().load(std::memory_order_relaxed)); }

void set_active_isa(Isa isa) {
  FG_CHECK(static_cast<int>(isa) <= static_cast<int>(detected_isa()), ValueError,
           "[set_isa] this CPU supports up to " << isa_name(detected_isa()) << ", got "
                                                << isa_name(isa));
  active_isa_slot().store(static_cast<int>(isa));
}

std::vector<std::string> cpu_feature_names() {
  std::vector<std::string> names;
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  // __builtin_cpu_supports needs a literal, hence the macro rather than a loop.
#define FG_ADD_FEATURE(name) \
  if (__builtin_cpu_supports(name)) names.emplace_back(name);
  FG_ADD_FEATURE("sse4.2")
  FG_ADD_FEATURE("avx")
  FG_ADD_FEATURE("avx2")
  FG_ADD_FEATURE("fma")
  FG_ADD_FEATURE("avx512f")
  FG_ADD_FEATURE("avx512bw")
  FG_ADD_FEATURE("avx512dq")
  FG_ADD_FEATURE("avx512vl")
#undef FG_ADD_FEATURE
#elif defined(__aarch64__)
  names.emplace_back("neon");  // every aarch64 CPU has it (Advanced SIMD)
#endif
  return names;
}

int get_num_threads() { return cpu::thread_count(); }

void set_num_threads(int n) {
  FG_CHECK(n >= 1, ValueError, "[set_num_threads] expected a thread count >= 1, got " << n);
  cpu::set_thread_count(n);
}

}  // namespace fg
