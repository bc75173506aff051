// The extension module forgegrad._C: errors, dtypes (dtypes.cpp), devices, build and CPU
// information.
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "autograd/node.h"
#include "core/cpu_features.h"
#include "core/error.h"
#include "core/safetensors.h"
#include "cpu/parallel.h"
#include "kernels.h"
#include "python/bindings.h"
#ifdef FORGEGRAD_WITH_CUDA
#include "cuda/device.h"
#endif

namespace fg::python {

Device parse_device(const py::object& device) {
  if (device.is_none()) return Device{};
  if (py::isinstance<Device>(device)) return device.cast<Device>();
  if (py::isinstance<py::str>(device)) return Device::parse(device.cast<std::string>());
  throw TypeError("[device] expected a device or a string such as 'cpu' or 'cuda', got " +
                  type_name(device));
}

DType parse_dtype(const py::object& dtype, DType fallback) {
  if (dtype.is_none()) return fallback;
  if (py::isinstance<DType>(dtype)) return dtype.cast<DType>();
  throw TypeError("[dtype] expected a forgegrad dtype (forgegrad.float32, int64, ...), got " +
                  py::str(dtype).cast<std::string>());
}

Tensor optional_tensor(const py::object& t, const char* op, const char* what) {
  if (t.is_none()) return Tensor();
  if (!py::isinstance<Tensor>(t))
    throw TypeError(std::string("[") + op + "] expected " + what + " to be a Tensor or None, got " +
                    type_name(t));
  return t.cast<Tensor>();
}

// "Tensor(float32)" for a tensor, the type's name for anything else: how an argument is shown
// in an error.
static std::string describe_argument(const py::handle& arg) {
  if (py::isinstance<Tensor>(arg))
    return std::string("Tensor(") + dtype_name(arg.cast<const Tensor&>().dtype()) + ")";
  return type_name(py::reinterpret_borrow<py::object>(arg));
}

// The signature lines of a pybind11 docstring, without the module prefix and return types.
static std::string signatures(const std::string& name, const std::string& doc) {
  std::string out, prefix = "forgegrad._C.";
  size_t start = 0;
  while (start < doc.size()) {
    size_t end = doc.find('\n', start);
    std::string line =
        doc.substr(start, end == std::string::npos ? std::string::npos : end - start);
    start = end == std::string::npos ? doc.size() : end + 1;
    size_t at = line.find(name + "(");
    if (at == std::string::npos || line.find("*args") != std::string::npos) continue;
    line = line.substr(
        at, line.find(" -> ") == std::string::npos ? std::string::npos : line.find(" -> ") - at);
    for (size_t p; (p = line.find(prefix)) != std::string::npos;) line.erase(p, prefix.size());
    out += (out.empty() ? "" : " or ") + line;
  }
  return out;
}

// A text signature, "sum(input, dim=None, *, axis=None)", from the first line of pybind11's
// docstring, "sum(input: Tensor, dim: object = None, *, axis: object = None) -> Tensor":
// names, markers and defaults (one that is no Python literal, such as a dtype or inf, shows
// as "...", since inspect reads literals only); "" when the doc is not one overload's. A
// method's self stays "self", not CPython's "$self": inspect takes a pybind11 function for
// bound (its __self__ is pybind11's record) and would drop a "$self" from Tensor.f too.
static std::string text_signature(const std::string& name, const std::string& doc) {
  size_t open = name.size(), close = doc.find(") -> ");
  if (doc.rfind(name + "(", 0) != 0 || close == std::string::npos || doc.find('\n') < close)
    return "";
  py::object literal_eval = py::module_::import("ast").attr("literal_eval");
  auto is_literal = [&](const std::string& value) {
    try {
      literal_eval(value);
      return true;
    } catch (py::error_already_set&) {
      return false;
    }
  };
  std::string inner = doc.substr(open + 1, close - open - 1), out;
  std::vector<std::string> params;
  int depth = 0;
  size_t start = 0;
  for (size_t i = 0; i <= inner.size(); ++i) {
    char c = i < inner.size() ? inner[i] : ',';
    depth += (c == '[' || c == '(') - (c == ']' || c == ')');
    if (c == ',' && depth == 0) {
      std::string p = inner.substr(start, i - start);
      p.erase(0, p.find_first_not_of(' '));
      if (!p.empty()) params.push_back(p);
      start = i + 1;
    }
  }
  for (size_t i = 0; i < params.size(); ++i) {
    const std::string& p = params[i];
    std::string text = p.substr(0, p.find(':'));
    size_t equals = p.find(" = ");
    if (equals != std::string::npos) {
      std::string value = p.substr(equals + 3);
      text += "=" + (is_literal(value) ? value : std::string("..."));
    }
    out += (out.empty() ? "" : ", ") + text;
  }
  return name + "(" + out + ")";
}

// Appends to every function of `scope` (a module, or a class when `methods`) a last overload
// that takes anything: arguments that fit none of the real ones then get a one-line
// TypeError naming the op, what came and what it takes, instead of pybind11's dump of C++
// signatures and argument reprs. The real overloads are tried first, so calls that fit
// pay nothing.
static void add_argument_type_errors(py::object scope, bool methods) {
  for (py::handle item : py::module_::import("builtins").attr("dir")(scope)) {
    std::string name = item.cast<std::string>();
    if (name.rfind("__", 0) == 0 || name == "_pybind11_conduit_v1_")
      continue;  // operators fall back to Python's own errors; pybind11's own hook
    py::object existing = scope.attr(name.c_str());
    if (methods && PyInstanceMethod_Check(existing.ptr()))  // how pybind11 stores methods
      existing = py::reinterpret_borrow<py::object>(PyInstanceMethod_GET_FUNCTION(existing.ptr()));
    if (!PyCFunction_Check(existing.ptr())) continue;         // properties, enums, constants
    std::string op = name[0] == '_' ? name.substr(1) : name;  // _fill_ is Tensor.fill_
    std::string doc = py::str(existing.attr("__doc__")).cast<std::string>();
    std::string expected = signatures(name, doc);
    auto fallback = [op, expected, methods](py::args args, py::kwargs kwargs) -> py::object {
      std::string got;
      for (size_t i = methods ? 1 : 0; i < args.size(); ++i)
        got += (got.empty() ? "" : ", ") + describe_argument(args[i]);
      for (auto [key, value] : kwargs)
        got += (got.empty() ? "" : ", ") + py::str(key).cast<std::string>() + "=" +
               describe_argument(value);
      throw TypeError("[" + op + "] got (" + got + "); expected " + expected +
                      " (numpy arrays and lists become Tensors with forgegrad.tensor)");
    };
    py::cpp_function chained = methods
                                   ? py::cpp_function(fallback, py::name(name.c_str()),
                                                      py::is_method(scope), py::sibling(existing))
                                   : py::cpp_function(fallback, py::name(name.c_str()),
                                                      py::scope(scope), py::sibling(existing));
    // help() and inspect.signature show the real overloads only: the doc they had before the
    // fallback, behind a text signature (CPython's "name(...)\n--\n\n" form) where there is
    // one overload, without pybind11's "name(*args, **kwargs)" heading where there are
    // several. (pybind11 allocated the doc it replaces with strdup, and frees it with free.)
    std::string signature = text_signature(name, doc);
    std::string heading = name + "(*args, **kwargs)\n";
    std::string shown = !signature.empty()           ? signature + "\n--\n\n" + doc
                        : doc.rfind(heading, 0) == 0 ? doc.substr(heading.size())
                                                     : doc;
    PyObject* function = chained.ptr();
    if (PyInstanceMethod_Check(function)) function = PyInstanceMethod_GET_FUNCTION(function);
    PyMethodDef* def = reinterpret_cast<PyCFunctionObject*>(function)->m_ml;
    std::free(const_cast<char*>(def->ml_doc));
    def->ml_doc = strdup(shown.c_str());
    scope.attr(name.c_str()) = chained;
  }
}

static int cuda_device_count() {
#ifdef FORGEGRAD_WITH_CUDA
  return cuda::device_count();
#else
  return 0;
#endif
}

// forgegrad.cuda's functions, by device index; in a build without CUDA the same signatures
// raise RuntimeError.
#ifndef FORGEGRAD_WITH_CUDA
[[noreturn]] static void no_cuda(const char* op) {
  throw RuntimeError(std::string("[") + op +
                     "] this build of forgegrad has no CUDA support "
                     "(nvcc was not found when it was built)");
}
#endif

static void bind_cuda_runtime(py::module_& m) {
#ifdef FORGEGRAD_WITH_CUDA
  m.def(
      "_cuda_get_device_name",
      [](int index) {
        cuda::check_device(index, "get_device_name");
        return cuda::device_name(index);
      },
      py::arg("index"));
  m.def("_cuda_synchronize", &cuda::synchronize, py::arg("index"),
        py::call_guard<py::gil_scoped_release>());
  m.def("_cuda_memory_allocated", &cuda::memory_allocated, py::arg("device"));
  m.def("_cuda_max_memory_allocated", &cuda::max_memory_allocated, py::arg("device"));
  m.def("_cuda_memory_reserved", &cuda::memory_reserved, py::arg("device"));
  m.def("_cuda_reset_peak_memory_stats", &cuda::reset_peak_memory_stats, py::arg("device"));
  m.def("_cuda_empty_cache", &cuda::empty_cache);
#else
  m.def(
      "_cuda_get_device_name", [](int) -> std::string { no_cuda("get_device_name"); },
      py::arg("index"));
  m.def("_cuda_synchronize", [](int) { no_cuda("synchronize"); }, py::arg("index"));
  m.def(
      "_cuda_memory_allocated", [](int) -> size_t { no_cuda("memory_allocated"); },
      py::arg("device"));
  m.def(
      "_cuda_max_memory_allocated", [](int) -> size_t { no_cuda("max_memory_allocated"); },
      py::arg("device"));
  m.def(
      "_cuda_memory_reserved", [](int) -> size_t { no_cuda("memory_reserved"); },
      py::arg("device"));
  m.def(
      "_cuda_reset_peak_memory_stats", [](int) { no_cuda("reset_peak_memory_stats"); },
      py::arg("device"));
  m.def("_cuda_empty_cache", [] { no_cuda("empty_cache"); });
#endif
}

static Isa parse_isa(const std::string& name) {
  if (name == "scalar") return Isa::Scalar;
  if (name == "avx2") return Isa::AVX2;
  if (name == "avx512") return Isa::AVX512;
  throw ValueError("[set_isa] expected 'scalar', 'avx2' or 'avx512', got '" + name + "'");
}

}  // namespace fg::python

PYBIND11_MODULE(_C, m) {
  using namespace fg;
  using namespace fg::python;
  m.doc() = "forgegrad's C++ core";

  // forgegrad's ValueError and TypeError are also RuntimeErrors, so that code written
  // against PyTorch (which raises RuntimeError for shape and dtype errors) catches them.
  static PyObject* value_error = PyErr_NewException(
      "forgegrad.ValueError",
      py::make_tuple(py::handle(PyExc_ValueError), py::handle(PyExc_RuntimeError)).release().ptr(),
      nullptr);
  static PyObject* type_error = PyErr_NewException(
      "forgegrad.TypeError",
      py::make_tuple(py::handle(PyExc_TypeError), py::handle(PyExc_RuntimeError)).release().ptr(),
      nullptr);
  m.attr("ValueError") = py::handle(value_error);
  m.attr("TypeError") = py::handle(type_error);
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const fg::ValueError& e) {
      PyErr_SetString(value_error, e.what());
    } catch (const fg::TypeError& e) {
      PyErr_SetString(type_error, e.what());
    } catch (const fg::IndexError& e) {
      PyErr_SetString(PyExc_IndexError, e.what());
    } catch (const fg::MemoryError& e) {
      PyErr_SetString(PyExc_MemoryError, e.what());
    } catch (const fg::RuntimeError& e) {
      PyErr_SetString(PyExc_RuntimeError, e.what());
    } catch (const py::cast_error& e) {  // inside a binding: a value C++ cannot take
      // pybind11 says "Unable to cast Python instance of type <class 'int'> to C++ type '?'
      // (#define ...)": keep the Python type, say what usually causes it.
      std::string message = e.what(), type = "value";
      size_t start = message.find("<class '"), end = message.find("'>", start);
      if (start != std::string::npos && end != std::string::npos)
        type = message.substr(start + 8, end - start - 8);
      PyErr_SetString(PyExc_TypeError,
                      ("[argument] a Python " + type +
                       " could not be converted to what the op "
                       "takes (a number out of range for int64 or float32, or a value of the "
                       "wrong type)")
                          .c_str());
    }
  });

  bind_dtypes(m);

  py::class_<Device>(m, "device",
                     "Where a tensor lives: device('cpu'), device('cuda') or device('cuda:1').")
      .def(py::init([](const std::string& spec) { return Device::parse(spec); }), py::arg("type"))
      .def_property_readonly(
          "type", [](const Device& d) { return d.is_cpu() ? "cpu" : "cuda"; }, "'cpu' or 'cuda'.")
      .def_property_readonly(
          "index",
          [](const Device& d) -> py::object {
            return d.is_cpu() ? py::object(py::none()) : py::object(py::int_(d.index));
          },
          "The GPU's ordinal, or None on the CPU.")
      .def("__eq__",
           [](const Device& d, const py::object& other) {
             if (py::isinstance<Device>(other)) return d == other.cast<Device>();
             if (py::isinstance<py::str>(other)) {
               std::string s = other.cast<std::string>();
               return s == d.str() || (s == "cuda" && d.is_cuda() && d.index == 0);
             }
             return false;
           })
      .def("__hash__", [](const Device& d) { return py::hash(py::str(d.str())); })
      .def("__str__", [](const Device& d) { return d.is_cpu() ? std::string("cpu") : d.str(); })
      .def("__repr__", [](const Device& d) {
        return d.is_cpu() ? std::string("device(type='cpu')")
                          : "device(type='cuda', index=" + std::to_string(d.index) + ")";
      });

  bind_tensor(m);
  bind_ops(m);
  bind_dlpack(m);

  m.def("is_grad_enabled", &grad_enabled);
  m.def("_set_grad_enabled", &set_grad_enabled, py::arg("enabled"));
  m.def("set_num_threads", &set_num_threads, py::arg("n"));
  m.def("get_num_threads", &get_num_threads);
  // For tests: the number of threads a parallel region of the CPU kernels runs on now.
  m.def("_parallel_region_threads", [] {
    std::atomic<int> chunks{0};
    cpu::parallel_for(1 << 20, 1, [&](int64_t, int64_t) { ++chunks; });
    return chunks.load();
  });
  m.def("cpu_features", &cpu_feature_names);
  m.def("detected_isa", [] { return std::string(isa_name(detected_isa())); });
  m.def("get_isa", [] { return std::string(isa_name(active_isa())); });
  m.def("simd_clone", [] { return std::string(cpu::simd_clone()); });
  m.def("threading_backend", [] { return std::string(cpu::threading_backend()); });
  m.def(
      "set_isa", [](const std::string& name) { set_active_isa(parse_isa(name)); }, py::arg("isa"));
#ifdef FORGEGRAD_WITH_CUDA
  m.attr("cuda_compiled") = true;
#else
  m.attr("cuda_compiled") = false;
#endif
  m.def("cuda_device_count", &cuda_device_count);
  bind_cuda_runtime(m);
#ifdef FORGEGRAD_WITH_CUDA
  bind_nccl(m);
#endif
  m.attr("__version__") = FORGEGRAD_VERSION;
  // The C++ programs' checkpoint reader (docs/cpp.md), tested against forgegrad.save here.
  m.def("_load_safetensors", &load_safetensors, py::arg("path"));

  add_argument_type_errors(m, false);
  add_argument_type_errors(m.attr("Tensor"), true);
}
