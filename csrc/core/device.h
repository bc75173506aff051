// Where a tensor's storage lives: the CPU, or CUDA device N.
#pragma once
#include <string>

namespace fg {

enum class DeviceType : uint8_t { CPU = 0, CUDA = 1 };

struct Device {
  DeviceType type = DeviceType::CPU;
  int index = 0;  // CUDA ordinal; always 0 for the CPU

  bool is_cpu() const { return type == DeviceType::CPU; }
  bool is_cuda() const { return type == DeviceType::CUDA; }
  bool operator==(const Device& other) const { return type == other.type && index == other.index; }
  bool operator!=(const Device& other) const { return !(*this == other); }
  std::string str() const;
  static Device parse(const std::string& spec);  // "cpu", "cuda", "cuda:1"; ValueError otherwise
};

}  // namespace fg
