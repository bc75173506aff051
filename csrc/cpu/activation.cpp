// The activations on the CPU: the shared definitions (csrc/activation_kernels.h) applied by
// map_elements' OpenMP + FG_SIMD loop.
#include "cpu/parallel.h"
#include "elementwise_math.h"
#include "kernels.h"

namespace fg::cpu {

#include "activation_kernels.h"

}  // namespace fg::cpu
