// The activations on the GPU: the shared definitions (csrc/activation_kernels.h), the same
// functors as the CPU's, applied by map_elements' grid-stride launch.
#include "cuda/launch.cuh"
#include "elementwise_math.h"
#include "kernels.h"

namespace fg::cuda {

#include "activation_kernels.h"

}  // namespace fg::cuda
