#include "core/device.h"

#include <cctype>

#include "core/error.h"

namespace fg {

std::string Device::str() const { return is_cpu() ? "cpu" : "cuda:" + std::to_string(index); }

Device Device::parse(const std::string& spec) {
  if (spec == "cpu") return Device{};
  if (spec == "cuda") return Device{DeviceType::CUDA, 0};
  if (spec.rfind("cuda:", 0) == 0 && spec.size() > 5 && spec.size() < 9) {
    bool digits = true;
    for (size_t i = 5; i < spec.size(); ++i) digits = digits && std::isdigit(spec[i]);
    if (digits) return Device{DeviceType::CUDA, std::stoi(spec.substr(5))};
  }
  throw ValueError("[device] expected 'cpu', 'cuda' or 'cuda:N', got '" + spec + "'");
}

}  // namespace fg
