// A Philox stream (core/philox.h): a seed and the next unused block of counters. Each draw
// reserves the blocks it needs, so draws never overlap and a stream's numbers depend only on
// its seed and the sequence of draws. default_generator() is the global stream that
// manual_seed restarts; forgegrad.Generator objects are streams of their own.
#pragma once
#include <cstdint>
#include <memory>
#include <mutex>
#include <utility>

namespace fg {

class Generator {
 public:
  static constexpr uint64_t kDefaultSeed = 0x5eed;

  explicit Generator(uint64_t seed = kDefaultSeed) : seed_(seed) {}

  void manual_seed(uint64_t seed) { set_state(seed, 0); }

  // (seed, next unused counter): the exact position, to save and restore
  std::pair<uint64_t, uint64_t> state() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return {seed_, offset_};
  }

  void set_state(uint64_t seed, uint64_t offset) {
    std::lock_guard<std::mutex> lock(mutex_);
    seed_ = seed;
    offset_ = offset;
  }

  // (seed, first counter) of `blocks` fresh blocks of four 32-bit words
  std::pair<uint64_t, uint64_t> reserve_blocks(uint64_t blocks) {
    std::lock_guard<std::mutex> lock(mutex_);
    uint64_t first = offset_;
    offset_ += blocks;
    return {seed_, first};
  }

 private:
  mutable std::mutex mutex_;
  uint64_t seed_;
  uint64_t offset_ = 0;
};

// The global stream (a shared_ptr so that Python can hold it as it holds any Generator).
inline const std::shared_ptr<Generator>& default_generator() {
  static const std::shared_ptr<Generator> global = std::make_shared<Generator>();
  return global;
}

}  // namespace fg
