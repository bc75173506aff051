// Threading and vectorization helpers shared by the CPU kernels.
#pragma once
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <exception>

// The threads of a parallel region: OpenMP's where the compiler has it, else forgegrad's own
// pool of std::threads (CMakeLists.txt, FORGEGRAD_OPENMP). Nothing outside this file names
// either.
#ifdef _OPENMP
#include <omp.h>
#else
#include "cpu/thread_pool.h"
#endif

// A kernel's inner loop marked FG_SIMD is compiled three times, for baseline x86-64,
// x86-64-v3 (AVX2 + FMA) and x86-64-v4 (AVX-512), and the loader picks the widest clone the
// CPU's features allow. (Not "arch=haswell": GCC dispatches that clone on the CPU model, so
// it never ran on AMD or on any Intel core newer than Haswell.) Keep parallel regions out of
// such functions: call them from parallel_for instead.
// fg::cpu::simd_clone() (csrc/cpu/simd_clone.cpp) says which clone the loader picks here.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define FG_SIMD_CLONES 1
#define FG_SIMD __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define FG_SIMD
#endif

namespace fg::cpu {

// "openmp" or "std::thread": which threads run the parallel regions (for info()).
inline const char* threading_backend() {
#ifdef _OPENMP
  return "openmp";
#else
  return "std::thread";
#endif
}

// The number of threads every parallel region of forgegrad's may use: one count for the
// whole process, as in PyTorch, so that fg.set_num_threads reaches threads started later too
// (omp_set_num_threads sets only the calling thread's). It starts at OpenMP's default
// (OMP_NUM_THREADS, else the cores); each region asks for it.
// Inline, so that the kernels need nothing outside csrc/cpu (tests/cuda_emulation links them
// alone): the program or library holds one.
inline std::atomic<int>& thread_count_setting() {
#ifdef _OPENMP
  static std::atomic<int> count{omp_get_max_threads()};
#else
  static std::atomic<int> count{default_thread_count()};
#endif
  return count;
}
inline int thread_count() { return thread_count_setting().load(std::memory_order_relaxed); }
inline void set_thread_count(int n) { thread_count_setting().store(n, std::memory_order_relaxed); }

// Whether the calling thread runs inside a parallel region, where another region would run
// on it alone.
inline bool in_parallel_region() {
#ifdef _OPENMP
  return omp_in_parallel();
#else
  return ThreadPool::in_region();
#endif
}

// Runs body(thread, team) for thread in [0, team) on a team of at most `threads` threads, the
// caller among them. The team may be smaller than asked for (one thread inside another
// region), so body shares its work out by `team`. The first exception a thread throws is
// rethrown here once the region is over.
template <typename Body>
void parallel_region(int threads, const Body& body) {
  if (threads <= 1 || in_parallel_region()) return body(0, 1);
#ifdef _OPENMP
  std::exception_ptr error;
#pragma omp parallel num_threads(threads)
  {
    try {
      body(omp_get_thread_num(), omp_get_num_threads());
    } catch (...) {
#pragma omp critical(fg_parallel_region_error)
      if (!error) error = std::current_exception();
    }
  }
  if (error) std::rethrow_exception(error);
#else
  ThreadPool::instance().run(threads, body);
#endif
}

// Elements per thread below which an elementwise kernel stays on one thread (about 50-100 us
// of work). Waking the pool costs microseconds on an idle machine, but on a loaded one a
// parallel region waits until the scheduler runs every thread: a small model's training step
// paid that on each copy and update (measured: 3x slower beside two busy processes).
constexpr int64_t kElementwiseGrain = 1 << 17;

// Calls body(begin, end) over [0, n) split into contiguous chunks, one per thread, using at
// most n / grain threads.
template <typename Body>
void parallel_for(int64_t n, int64_t grain, const Body& body) {
  int64_t max_threads = std::min<int64_t>(thread_count(), n / std::max<int64_t>(grain, 1));
  if (max_threads <= 1) {
    if (n > 0) body(0, n);
    return;
  }
  parallel_region(static_cast<int>(max_threads), [&](int thread, int team) {
    int64_t chunk = (n + team - 1) / team;
    int64_t begin = std::min(n, thread * chunk), end = std::min(n, begin + chunk);
    if (begin < end) body(begin, end);
  });
}

// The one CPU loop of the elementwise kernels: out[i] = op(in[i]...) for i in [0, n), a
// vectorized FG_SIMD loop over each thread's range. `name` is for the CUDA version's errors.
template <typename Op, typename Out, typename... In>
FG_SIMD void map_range(int64_t begin, int64_t end, Op op, Out* out, const In*... in) {
  for (int64_t i = begin; i < end; ++i) out[i] = op(in[i]...);
}
template <typename Op, typename Out, typename... In>
void map_elements(const char*, Op op, Out* out, int64_t n, const In*... in) {
  parallel_for(n, kElementwiseGrain,
               [&](int64_t begin, int64_t end) { map_range(begin, end, op, out, in...); });
}

}  // namespace fg::cpu
