// The extension module forgegrad._C: errors, dtypes, devices, build and CPU information.
#include "autograd/node.h"
#include "core/cpu_features.h"
#include "core/error.h"
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
  throw TypeError("[dtype] expected forgegrad.float32, int64, bool or uint8, got " +
                  py::str(dtype).cast<std::string>());
}

static int cuda_device_count() {
#ifdef FORGEGRAD_WITH_CUDA
  return cuda::device_count();
#else
  return 0;
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

  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const fg::ValueError& e) {
      PyErr_SetString(PyExc_ValueError, e.what());
    } catch (const fg::TypeError& e) {
      PyErr_SetString(PyExc_TypeError, e.what());
    } catch (const fg::IndexError& e) {
      PyErr_SetString(PyExc_IndexError, e.what());
    } catch (const fg::MemoryError& e) {
      PyErr_SetString(PyExc_MemoryError, e.what());
    } catch (const fg::RuntimeError& e) {
      PyErr_SetString(PyExc_RuntimeError, e.what());
    } catch (const py::cast_error& e) {  // an argument of the wrong type
      PyErr_SetString(PyExc_TypeError, e.what());
    }
  });

  py::enum_<DType> dtype(m, "dtype");
  dtype.value("float32", DType::Float32)
      .value("int64", DType::Int64)
      .value("bool", DType::Bool)
      .value("uint8", DType::UInt8)
      .def_property_readonly("itemsize", [](DType d) { return dtype_size(d); });
  // Replaced, not overloaded: py::enum_ already defines both.
  py::cpp_function dtype_repr([](DType d) { return std::string("forgegrad.") + dtype_name(d); },
                              py::is_method(dtype));
  dtype.attr("__repr__") = dtype_repr;
  dtype.attr("__str__") = dtype_repr;

  py::class_<Device>(m, "device")
      .def(py::init([](const std::string& spec) { return Device::parse(spec); }), py::arg("type"))
      .def_property_readonly("type", [](const Device& d) { return d.is_cpu() ? "cpu" : "cuda"; })
      .def_property_readonly("index", [](const Device& d) -> py::object {
        return d.is_cpu() ? py::object(py::none()) : py::object(py::int_(d.index));
      })
      .def("__eq__", [](const Device& d, const py::object& other) {
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

  m.def("is_grad_enabled", &grad_enabled);
  m.def("_set_grad_enabled", &set_grad_enabled, py::arg("enabled"));
  m.def("set_num_threads", &set_num_threads, py::arg("n"));
  m.def("get_num_threads", &get_num_threads);
  m.def("cpu_features", &cpu_feature_names);
  m.def("detected_isa", [] { return std::string(isa_name(detected_isa())); });
  m.def("get_isa", [] { return std::string(isa_name(active_isa())); });
  m.def("set_isa", [](const std::string& name) { set_active_isa(parse_isa(name)); },
        py::arg("isa"));
#ifdef FORGEGRAD_WITH_CUDA
  m.attr("cuda_compiled") = true;
#else
  m.attr("cuda_compiled") = false;
#endif
  m.def("cuda_device_count", &cuda_device_count);
  m.attr("__version__") = FORGEGRAD_VERSION;
}
