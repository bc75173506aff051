// Shared pieces of the pybind11 bindings.
#pragma once
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "core/tensor.h"

namespace fg::python {

namespace py = pybind11;

// forgegrad.preserve_format and contiguous_format, the memory_format of clone (dtypes.cpp)
enum class MemoryFormat { Preserve, Contiguous };

void bind_dtypes(py::module_& m);  // dtypes.cpp: before the others
void bind_tensor(py::module_& m);  // tensor.cpp
void bind_ops(py::module_& m);     // ops.cpp
void bind_dlpack(py::module_& m);  // dlpack.cpp: after bind_tensor
#ifdef FORGEGRAD_WITH_CUDA
void bind_nccl(py::module_& m);  // nccl.cpp
#endif

Device parse_device(const py::object& device);  // None -> cpu; str or device object
std::string type_name(const py::object& o);     // "list", "ndarray", ...
// A Tensor, or a Python number as a 0-d wrapped number on self's device (tensor.cpp)
Tensor operand(const py::object& other, const Tensor& self, const char* op);
bool is_number(const py::object& o);                         // Python numbers and numpy scalars
DType parse_dtype(const py::object& dtype, DType fallback);  // None -> fallback
// A Tensor, or undefined for None; anything else is a TypeError naming `op` and `what`.
Tensor optional_tensor(const py::object& t, const char* op, const char* what);
// The address of t's first element, handed to code outside forgegrad (DLPack, the CUDA array
// interface, _data_ptr), which may write there: t's storage forgets its index bounds.
void* exported_data(const Tensor& t);  // tensor.cpp

}  // namespace fg::python
