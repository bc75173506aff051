// Errors raised by the core. Each maps to one Python exception in csrc/python/module.cpp;
// messages read "[op] what was expected, what was given".
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>

namespace fg {

struct ValueError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
struct TypeError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
struct IndexError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
struct MemoryError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
struct RuntimeError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

}  // namespace fg

// FG_CHECK(cond, ValueError, "[add] shapes " << a << " and " << b << " do not broadcast")
#define FG_CHECK(cond, ErrorType, message)              \
  do {                                                  \
    if (!(cond)) {                                      \
      std::ostringstream fg_check_stream_;              \
      fg_check_stream_ << message;                      \
      throw ::fg::ErrorType(fg_check_stream_.str());    \
    }                                                   \
  } while (0)
