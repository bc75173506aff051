// Python bindings of the dtypes and of type promotion (forgegrad.float64, ...,
// forgegrad.promote_types, result_type, can_cast), and of the memory formats
// (forgegrad.preserve_format, contiguous_format). One block, for the op table to absorb.
#include "core/error.h"
#include "core/promotion.h"
#include "python/bindings.h"

namespace fg::python {

// An operand of result_type: a tensor (dimensioned or 0-d) or a Python number.
static PromotionOperand promotion_operand(const py::object& x) {
  if (py::isinstance<Tensor>(x)) {
    const Tensor& t = x.cast<const Tensor&>();
    return {t.dtype(), t.dim() == 0 ? OperandKind::ZeroDim : OperandKind::Dimensioned};
  }
  if (py::isinstance<py::bool_>(x)) return {DType::Bool, OperandKind::Number};
  if (py::isinstance<py::int_>(x)) return {DType::Int64, OperandKind::Number};
  if (py::isinstance<py::float_>(x)) return {DType::Float64, OperandKind::Number};
  throw TypeError("[result_type] expected Tensors or Python numbers (bool, int, float), got " +
                  type_name(x));
}

void bind_dtypes(py::module_& m) {
  using namespace py::literals;
  py::enum_<DType> dtype(m, "dtype");
#define FG_DTYPE_VALUE(name, T, text) dtype.value(text, DType::name);
  FG_FOR_EACH_DTYPE(FG_DTYPE_VALUE)
#undef FG_DTYPE_VALUE
  dtype.def_property_readonly("itemsize", [](DType d) { return dtype_size(d); })
      .def_property_readonly("is_floating_point", [](DType d) { return is_floating(d); })
      .def_property_readonly("is_signed",
                             [](DType d) { return d != DType::Bool && d != DType::UInt8; });
  // Replaced, not overloaded: py::enum_ already defines both.
  py::cpp_function dtype_repr([](DType d) { return std::string("forgegrad.") + dtype_name(d); },
                              py::is_method(dtype));
  dtype.attr("__repr__") = dtype_repr;
  dtype.attr("__str__") = dtype_repr;

  py::enum_<MemoryFormat> memory_format(m, "memory_format");
  memory_format.value("preserve_format", MemoryFormat::Preserve)
      .value("contiguous_format", MemoryFormat::Contiguous);
  py::cpp_function memory_format_repr(
      [](MemoryFormat f) {
        return std::string(f == MemoryFormat::Preserve ? "forgegrad.preserve_format"
                                                       : "forgegrad.contiguous_format");
      },
      py::is_method(memory_format));
  memory_format.attr("__repr__") = memory_format_repr;
  memory_format.attr("__str__") = memory_format_repr;

  m.def("promote_types", &promote_types, "type1"_a, "type2"_a,
        "The smallest dtype both type1 and type2 convert to, as torch.promote_types.");
  m.def("can_cast", &can_cast, "from_"_a, "to"_a,
        "Whether PyTorch's casting rules allow a result of dtype from_ into a tensor of "
        "dtype to (not floating into integral, not numbers into bool), as torch.can_cast.");
  m.def(
      "result_type",
      [](const py::object& tensor1, const py::object& tensor2) {
        return result_type({promotion_operand(tensor1), promotion_operand(tensor2)});
      },
      "tensor1"_a, "tensor2"_a,
      "The dtype of an arithmetic op's result on tensor1 and tensor2 (Tensors or Python "
      "numbers), as torch.result_type: a 0-d tensor or a number lifts only the category.");
}

}  // namespace fg::python
