// Which SIMD instruction set the CPU kernels use. Detected once from CPUID; a wheel is
// built for baseline x86-64 and picks its micro-kernels here at run time.
#pragma once
#include <string>
#include <vector>

namespace fg {

enum class Isa { Scalar = 0, AVX2 = 1, AVX512 = 2 };  // AVX2 means AVX2 + FMA

const char* isa_name(Isa isa);
Isa detected_isa();           // the best the CPU and OS support
Isa active_isa();             // what the kernels use now (detected unless overridden)
void set_active_isa(Isa isa); // ValueError if the CPU lacks it; for tests and benchmarks
std::vector<std::string> cpu_feature_names();  // e.g. {"avx2", "fma"}

int get_num_threads();
void set_num_threads(int n);  // ValueError unless n >= 1

}  // namespace fg
