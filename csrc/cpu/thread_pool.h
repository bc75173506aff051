// The threads of forgegrad's parallel regions in a build without OpenMP (Apple clang,
// FORGEGRAD_OPENMP=OFF): a fork-join pool of std::threads, started on first use and reused
// by every region after, as OpenMP's are. Only cpu/parallel.h uses it. Header-only, like
// parallel.h, so that the kernels need nothing outside csrc/cpu.
#pragma once
#include <algorithm>
#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#if defined(__unix__) || defined(__APPLE__)
#include <pthread.h>
#endif

namespace fg::cpu {

// What OpenMP would start with: OMP_NUM_THREADS when it is a count, else the cores.
inline int default_thread_count() {
  if (const char* env = std::getenv("OMP_NUM_THREADS")) {
    int n = std::atoi(env);
    if (n >= 1) return n;
  }
  return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

class ThreadPool {
 public:
  // The process's pool. Never destroyed: its workers still wait on it while the process
  // exits. The child of a fork() has none of its parent's workers, so it starts a pool of
  // its own (the parent's, whose locks may have been held at the fork, is left alone).
  static ThreadPool& instance() {
    static const bool started = [] {
#if defined(__unix__) || defined(__APPLE__)
      pthread_atfork(nullptr, nullptr, [] { current() = new ThreadPool(); });
#endif
      current() = new ThreadPool();
      return true;
    }();
    (void)started;
    return *current();
  }

  // Whether the calling thread is inside a region (a worker's share or the caller's).
  static bool in_region() { return region_depth() > 0; }

  // Runs body(thread, team) for thread in [0, team) on the caller (thread 0) and team - 1
  // workers, and returns when all are done; the first exception one of them threw is then
  // rethrown. A region inside a region, or one asked for while another thread's region holds
  // the workers, runs on the caller alone (team 1): nothing waits for threads it cannot get.
  template <class Body>
  void run(int team, const Body& body) {
    std::unique_lock<std::mutex> region(region_mutex_, std::defer_lock);
    if (team <= 1 || in_region() || !region.try_lock()) return run_share(body, 0, 1);
    while (static_cast<int>(workers_.size()) < team - 1) {
      int thread = static_cast<int>(workers_.size()) + 1;
      workers_.emplace_back([this, thread] { work(thread); });
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      task_ = {&body,
               [](const void* b, int thread, int n) { (*static_cast<const Body*>(b))(thread, n); }};
      team_ = team;
      pending_ = team - 1;
      error_ = nullptr;
      ++generation_;
    }
    start_.notify_all();
    std::exception_ptr error;
    try {
      run_share(body, 0, team);
    } catch (...) {
      error = std::current_exception();
    }
    std::unique_lock<std::mutex> lock(mutex_);
    done_.wait(lock, [this] { return pending_ == 0; });
    if (!error) error = error_;
    lock.unlock();
    if (error) std::rethrow_exception(error);
  }

 private:
  // A region's body, type-erased for the workers (it lives on the caller's stack).
  struct Task {
    const void* body = nullptr;
    void (*call)(const void* body, int thread, int team) = nullptr;
  };

  static ThreadPool*& current() {
    static ThreadPool* pool = nullptr;
    return pool;
  }
  static int& region_depth() {
    thread_local int depth = 0;
    return depth;
  }

  template <class Body>
  static void run_share(const Body& body, int thread, int team) {
    struct Depth {
      Depth() { ++region_depth(); }
      ~Depth() { --region_depth(); }
    } depth;
    body(thread, team);
  }

  // Worker `thread` (1-based): waits for each region, runs its share of those whose team it
  // is in, and reports done.
  void work(int thread) {
    unsigned long seen = 0;
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
      start_.wait(lock, [&] { return generation_ != seen; });
      seen = generation_;
      if (thread >= team_) continue;
      Task task = task_;
      int team = team_;
      lock.unlock();
      std::exception_ptr error;
      try {
        run_share([&](int t, int n) { task.call(task.body, t, n); }, thread, team);
      } catch (...) {
        error = std::current_exception();
      }
      lock.lock();
      if (error && !error_) error_ = error;
      if (--pending_ == 0) done_.notify_one();
    }
  }

  std::mutex region_mutex_;  // held by the thread whose region has the workers
  std::vector<std::thread> workers_;
  std::mutex mutex_;  // guards what follows
  std::condition_variable start_, done_;
  unsigned long generation_ = 0;  // regions started
  Task task_;
  int team_ = 0, pending_ = 0;  // pending_: workers not yet done with the current region
  std::exception_ptr error_;
};

}  // namespace fg::cpu
