// Checks csrc/cpu/parallel.h on whichever threads this program was built with: OpenMP's
// (-fopenmp) or forgegrad's std::thread pool (without). parallel_for covers its range once;
// a region's team is what set_thread_count allows; threads are reused, not started per
// region; a region inside a region runs on its caller alone; an exception in any thread
// reaches the caller and leaves the threads usable; regions asked for by several threads at
// once all finish, each whole; the child of a fork() runs regions too (the std::thread pool
// only: GCC's OpenMP hangs there, a known limit of libgomp).
// Prints the backend, one line per failure, and "<failed> of <checks> checks failed"; exits 1
// if any. tests/test_threads.py builds and runs it both ways; tools/cross_check.sh runs it
// for aarch64 under qemu-user with --no-fork (qemu-user 7 aborts when a process with
// threads forks).
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "cpu/parallel.h"

namespace {

int checks = 0, failures = 0;

void check(bool ok, const char* what) {
  ++checks;
  if (!ok) {
    ++failures;
    std::printf("FAILED: %s\n", what);
  }
}

// parallel_for over [0, n) with grain 1: every index visited once; returns the chunks.
int covers_once(int64_t n) {
  std::vector<std::atomic<int>> visits(n);
  std::atomic<int> chunks{0};
  fg::cpu::parallel_for(n, 1, [&](int64_t begin, int64_t end) {
    ++chunks;
    for (int64_t i = begin; i < end; ++i) ++visits[i];
  });
  for (auto& v : visits)
    if (v != 1) return -1;
  return chunks;
}

void check_cover_and_team() {
  fg::cpu::set_thread_count(4);
  check(covers_once(1000) == 4, "parallel_for on 4 threads makes 4 chunks, each index once");
  check(covers_once(3) == 3, "parallel_for uses at most n / grain threads");
  check(covers_once(0) == 0, "parallel_for over nothing calls nothing");
  fg::cpu::set_thread_count(1);
  check(covers_once(1000) == 1, "one thread: one chunk");
  fg::cpu::set_thread_count(3);
  int team = 0;
  fg::cpu::parallel_region(3, [&](int thread, int n) {
    if (thread == 0) team = n;
  });
  check(team == 3, "a region gets the team it asks for");
}

void check_threads_reused() {
  fg::cpu::set_thread_count(3);
  std::mutex lock;
  std::set<std::thread::id> seen;
  for (int region = 0; region < 200; ++region)
    fg::cpu::parallel_region(3, [&](int, int) {
      std::lock_guard<std::mutex> guard(lock);
      seen.insert(std::this_thread::get_id());
    });
  check(seen.size() == 3, "200 regions of 3 threads run on the same 3 threads");
}

void check_nested() {
  std::atomic<int> inner_teams{0}, outside{0}, inside{0};
  outside = fg::cpu::in_parallel_region() ? 1 : 0;
  fg::cpu::parallel_region(2, [&](int, int) {
    if (fg::cpu::in_parallel_region()) ++inside;
    fg::cpu::parallel_region(2, [&](int, int team) { inner_teams += team; });
  });
  check(outside == 0, "in_parallel_region() is false outside a region");
  check(inside == 2, "in_parallel_region() is true on every thread of a region");
  check(inner_teams == 2, "a region inside a region runs on its caller alone");
}

void check_exceptions() {
  fg::cpu::set_thread_count(2);
  for (int thrower = 0; thrower < 2; ++thrower) {
    std::string message;
    try {
      fg::cpu::parallel_region(2, [&](int thread, int) {
        if (thread == thrower) throw std::runtime_error("thread " + std::to_string(thread));
      });
    } catch (const std::runtime_error& e) {
      message = e.what();
    }
    check(message == "thread " + std::to_string(thrower),
          thrower ? "a worker's exception reaches the caller" : "the caller's exception is kept");
    check(covers_once(1000) == 2, "the threads work after an exception");
  }
}

void check_concurrent_callers() {
  fg::cpu::set_thread_count(2);
  std::atomic<int> wrong{0};
  std::vector<std::thread> callers;
  for (int c = 0; c < 3; ++c)
    callers.emplace_back([&] {
      for (int region = 0; region < 300; ++region)
        if (covers_once(4096) < 1) ++wrong;
    });
  for (auto& caller : callers) caller.join();
  check(wrong == 0, "regions from 3 threads at once all finish, each index once");
}

#ifndef _OPENMP
void check_fork() {
  fg::cpu::set_thread_count(2);
  covers_once(1000);  // the parent's threads exist
  pid_t child = fork();
  if (child == 0) {
    alarm(20);  // a hang fails the check instead of the test run
    _exit(covers_once(1000) == 2 ? 0 : 1);
  }
  int status = 0;
  waitpid(child, &status, 0);
  check(WIFEXITED(status) && WEXITSTATUS(status) == 0, "a forked child runs regions");
}
#endif

}  // namespace

int main(int argc, char** argv) {
  bool fork_check = !(argc > 1 && std::string(argv[1]) == "--no-fork");
  std::printf("threading %s\n", fg::cpu::threading_backend());
  check_cover_and_team();
  check_threads_reused();
  check_nested();
  check_exceptions();
  check_concurrent_callers();
#ifndef _OPENMP
  if (fork_check) check_fork();
#else
  (void)fork_check;
#endif
  std::printf("%d of %d checks failed\n", failures, checks);
  return failures ? 1 : 0;
}
