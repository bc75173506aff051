// The Tensor class: attributes, numpy exchange, operators, indexing. Every entry checks
// dtype, shape and device (in the op it calls) before touching a pointer.
#include <cctype>
#include <cstring>

#include "autograd/node.h"
#include "core/dispatch.h"
#include "core/error.h"
#include "core/promotion.h"
#include "ops/ops.h"
#include "python/bindings.h"

namespace fg::python {

// numpy's dtype for `dtype` (numpy has no bfloat16: PyTorch's TypeError, naming it).
static py::dtype numpy_dtype(DType dtype, const char* op) {
  FG_CHECK(dtype != DType::BFloat16, TypeError,
           "[" << op
               << "] numpy has no bfloat16 (got unsupported dtype bfloat16); convert "
                  "with .float() first");
  static const char* names[] = {"float32", "int64", "bool",  "uint8", "float64",
                                "float16", "",      "int32", "int16", "int8"};
  return py::dtype(names[static_cast<int>(dtype)]);
}

// The forgegrad dtype of a numpy array: every numpy dtype with an equivalent; a TypeError
// naming the others (uint16, complex64, ...).
static DType dtype_of_array(const py::array& array, const char* op) {
  char kind = array.dtype().kind();
  size_t size = array.itemsize();
  for (int d = 0; d < kDTypeCount; ++d) {
    DType dtype = static_cast<DType>(d);
    char ours = dtype == DType::Bool    ? 'b'
                : dtype == DType::UInt8 ? 'u'
                : is_floating(dtype)    ? 'f'
                                        : 'i';
    if (dtype != DType::BFloat16 && ours == kind && dtype_size(dtype) == size) return dtype;
  }
  throw TypeError(std::string("[") + op + "] numpy dtype " +
                  py::str(array.dtype()).cast<std::string>() +
                  " has no forgegrad equivalent (float64/32/16, int64/32/16/8, uint8, bool)");
}

static Shape shape_of_array(const py::array& array) {
  return Shape(array.shape(), array.shape() + array.ndim());
}

static Tensor copy_from_numpy(const py::array& array);

static bool native_byte_order(const py::array& array) {
  return array.dtype().attr("isnative").cast<bool>();
}

// Shares the array's memory, strides included (a view of it stays a view), when it is
// aligned, writeable (a tensor's memory can be written through it) and in this machine's
// byte order; else copies it. Negative strides are refused, as PyTorch does.
static Tensor from_numpy(const py::array& array) {
  DType dtype = dtype_of_array(array, "from_numpy");
  int64_t size = static_cast<int64_t>(dtype_size(dtype));
  Shape strides(array.ndim());
  int64_t last = 0;  // the last element's offset, in elements
  bool whole_elements = true;
  for (py::ssize_t d = 0; d < array.ndim(); ++d) {
    FG_CHECK(array.strides(d) >= 0 || array.shape(d) <= 1, ValueError,
             "[from_numpy] at least one stride in the given numpy array is negative, which is "
             "not supported; copy the array first (np.ascontiguousarray or array.copy())");
    whole_elements = whole_elements && array.strides(d) % size == 0;
    strides[d] = array.strides(d) < 0 ? 0 : array.strides(d) / size;  // size <= 1 then
    last += (array.shape(d) - 1) * strides[d];
  }
  bool shareable = native_byte_order(array) && whole_elements && array.writeable() &&
                   reinterpret_cast<uintptr_t>(array.data()) % size == 0;
  if (!shareable) return copy_from_numpy(array);
  Shape shape = shape_of_array(array);
  if (array.size() == 0) return copy_from_numpy(array);  // nothing to share
  size_t nbytes = static_cast<size_t>(last + 1) * size;
  PyObject* owner = array.ptr();
  Py_INCREF(owner);
  auto storage = Storage::wrap(const_cast<void*>(array.data()), nbytes, Device{}, [owner] {
    py::gil_scoped_acquire gil;  // the last reference may drop in a GIL-free backward
    Py_DECREF(owner);
  });
  Tensor flat = Tensor::from_storage(std::move(storage), {last + 1}, dtype);
  return flat.as_strided(shape, strides, 0, "from_numpy");
}

// A copy into forgegrad's own aligned storage.
static Tensor copy_from_numpy(const py::array& array) {
  DType dtype = dtype_of_array(array, "tensor");
  if (!native_byte_order(array))  // big-endian data, say: swap the bytes into a copy first
    return copy_from_numpy(array.attr("astype")(array.dtype().attr("newbyteorder")("=")));
  py::array contiguous = py::array::ensure(array, py::array::c_style);
  Tensor out = Tensor::empty(shape_of_array(contiguous), dtype, Device{});
  std::memcpy(out.raw_data(), contiguous.data(), contiguous.nbytes());
  return out;
}

static py::array to_numpy(const Tensor& t) {
  FG_CHECK(!t.requires_grad(), RuntimeError,
           "[numpy] can't call numpy() on a tensor that requires grad; use "
           "tensor.detach().numpy()");
  FG_CHECK(t.device().is_cpu(), TypeError,
           "[numpy] can't convert a " << t.device().str() << " tensor to numpy; call .cpu() first");
  // The tensor's own strides: the array shares its memory, views included, as in PyTorch.
  std::vector<py::ssize_t> strides(t.dim());
  for (int64_t d = 0; d < t.dim(); ++d)
    strides[d] = static_cast<py::ssize_t>(t.strides()[d] * dtype_size(t.dtype()));
  // The capsule keeps the storage alive as long as the array.
  auto* keep = new std::shared_ptr<Storage>(t.storage());
  py::capsule owner(keep, [](void* p) { delete static_cast<std::shared_ptr<Storage>*>(p); });
  return py::array(numpy_dtype(t.dtype(), "numpy"), t.shape(), strides, t.strided_data(), owner);
}

// _move_to_(tensors, device, dtype): leaves' values (and their .grad) moved to another device
// and/or converted to another dtype in place, so every reference to them (an optimizer's
// parameter list) sees the change, as Module.to needs. Every copy is made before any tensor
// changes: a failure changes nothing.
static void move_to_(const std::vector<Tensor>& tensors, const py::object& device,
                     const py::object& dtype) {
  auto convert = [&](const Tensor& t) {
    Tensor out = device.is_none() ? t : ops::to_device(t, parse_device(device));
    return dtype.is_none() ? out : ops::to_dtype(out, parse_dtype(dtype, t.dtype()));
  };
  std::vector<std::pair<Tensor, Tensor>> moves;  // (tensor or its grad, its copy)
  for (const Tensor& t : tensors) {
    FG_CHECK(t.is_leaf(), RuntimeError, "[to] only leaf tensors can be moved in place");
    moves.emplace_back(t, convert(t.detach()));
    if (t.grad().defined()) moves.emplace_back(t.grad(), convert(t.grad()));
  }
  for (auto& [t, moved] : moves) {
    t.impl()->storage = moved.storage();
    t.impl()->offset = moved.storage_offset();
    t.impl()->strides = moved.strides();
    t.impl()->dtype = moved.dtype();
  }
}

void* exported_data(const Tensor& t) {
  t.storage()->forget_index_bounds();
  return t.strided_data();
}

// CUDA tensors describe their memory to CuPy, Numba and others (version 3 of the protocol;
// stream 1: the legacy default stream, which forgegrad's kernels run on). CPU tensors have
// no such attribute, as in PyTorch.
static py::dict cuda_array_interface(const Tensor& t) {
  if (!t.device().is_cuda())
    throw py::attribute_error("[__cuda_array_interface__] a " + t.device().str() +
                              " tensor has no CUDA array interface; move it with .cuda()");
  FG_CHECK(!t.requires_grad(), RuntimeError,
           "[__cuda_array_interface__] can't export a tensor that requires grad; use "
           "tensor.detach()");
  py::dict interface;
  interface["shape"] = py::tuple(py::cast(t.shape()));
  interface["typestr"] = numpy_dtype(t.dtype(), "__cuda_array_interface__").attr("str");
  interface["data"] = py::make_tuple(reinterpret_cast<uintptr_t>(exported_data(t)), false);
  py::list strides;  // in bytes; None means C-contiguous
  for (int64_t stride : t.strides()) strides.append(stride * int64_t(dtype_size(t.dtype())));
  interface["strides"] =
      t.is_contiguous() ? py::object(py::none()) : py::object(py::tuple(strides));
  interface["version"] = 3;
  interface["stream"] = 1;
  return interface;
}

std::string type_name(const py::object& o) {
  return py::str(py::type::of(o).attr("__name__")).cast<std::string>();
}

// Python numbers and numpy scalars; not Tensors, arrays or strings.
bool is_number(const py::object& o) {
  return !py::isinstance<Tensor>(o) && !py::isinstance<py::array>(o) &&
         !py::isinstance<py::str>(o) && py::hasattr(o, "__float__");
}

// Reads a Python operand (Tensor or number, numpy scalars included) for an op with `self`. A
// number becomes a 0-d bool, int64 or float64 tensor on self's device, marked as a wrapped
// number: in type promotion it only lifts the category (int tensor * 2.5 is float32).
Tensor operand(const py::object& other, const Tensor& self, const char* op) {
  if (py::isinstance<Tensor>(other)) return other.cast<Tensor>();
  // a numpy array: a tensor of its dtype, copied to self's device
  if (py::isinstance<py::array>(other))
    return ops::to_device(copy_from_numpy(other.cast<py::array>()), self.device());
  if (!is_number(other)) {
    // another library's tensor (PyTorch's is also named "Tensor"): say how to bring it over
    if (py::hasattr(other, "__dlpack__"))
      throw TypeError(std::string("[") + op +
                      "] expected a forgegrad Tensor, a number or a numpy "
                      "array, got " +
                      py::str(py::type::of(other).attr("__module__")).cast<std::string>() + "." +
                      type_name(other) +
                      "; convert it first with forgegrad.from_dlpack(x) "
                      "(sharing its memory) or forgegrad.tensor(x.numpy())");
    throw TypeError(std::string("[") + op + "] expected a Tensor, a number or a numpy array, got " +
                    type_name(other));
  }
  Tensor number;
  std::string kind = type_name(other);  // numpy's bool scalar is "bool" (numpy 1: "bool_")
  if (kind == "bool" || kind == "bool_")
    number = ops::scalar_tensor(other.attr("__bool__")().cast<bool>(), DType::Bool, self.device());
  else if (py::hasattr(other, "__index__"))
    number = ops::full_int64({}, other.attr("__index__")().cast<int64_t>(), self.device());
  else
    number =
        ops::scalar_tensor(other.attr("__float__")().cast<double>(), DType::Float64, self.device());
  number.impl()->wrapped_number = true;
  return number;
}

// The error for an index past int64, which is out of bounds for any dimension.
[[noreturn]] static void index_out_of_bounds(const std::string& index, const Tensor& t) {
  FG_CHECK(t.dim() > 0, IndexError, "[index] cannot index a 0-d tensor");
  throw IndexError("[index] index " + index + " is out of bounds for dimension 0 with size " +
                   std::to_string(t.shape()[0]));
}

// A Python int or a numpy integer scalar of any kind as an int64 index.
static int64_t index_value(const py::object& key, const Tensor& t) {
  py::object index = key.attr("__index__")();
  int overflow = 0;
  long long value = PyLong_AsLongLongAndOverflow(index.ptr(), &overflow);
  if (overflow) index_out_of_bounds(py::str(index).cast<std::string>(), t);
  return value;
}

// A list, tuple or array of integer indices as an int64 tensor (of bools: a bool mask).
// uint64 values past int64
// are out of bounds (a cast to int64 would wrap them into negative, valid indices).
static Tensor index_array(const py::object& key, const Tensor& t) {
  py::array array;
  try {
    array = py::module_::import("numpy").attr("asarray")(key);
  } catch (py::error_already_set& e) {
    if (!e.matches(PyExc_ValueError)) throw;
    throw ValueError(std::string("[index] expected a rectangular list of indices: ") + e.what());
  }
  char kind = array.dtype().kind();
  if (kind == 'b') return copy_from_numpy(array);  // a mask
  FG_CHECK(array.size() == 0 || kind == 'i' || kind == 'u', TypeError,
           "[index] expected integer indices, got an array of "
               << py::str(array.dtype()).cast<std::string>());
  if (kind == 'u' && array.itemsize() == 8) {
    auto values = py::array_t < uint64_t,
         py::array::c_style | py::array::forcecast > ::ensure(array);
    for (py::ssize_t i = 0; i < values.size(); ++i)
      if (values.data()[i] > static_cast<uint64_t>(INT64_MAX))
        index_out_of_bounds(std::to_string(values.data()[i]), t);
  }
  return copy_from_numpy(array.attr("astype")("int64").cast<py::array>());
}

// An index that selects by values (a Tensor, list or array: advanced indexing), rather than
// by position (an int, slice, None or Ellipsis: basic indexing, always a view).
static bool is_advanced(const py::object& item) {
  return py::isinstance<Tensor>(item) || py::isinstance<py::array>(item) ||
         py::isinstance<py::list>(item) || py::isinstance<py::tuple>(item);
}

// One view step of a key's basic part, replayable on any tensor of the same shape (backward
// replays a __setitem__'s key on the gradient).
struct ViewStep {
  enum Kind { Select, Slice, Unsqueeze } kind;
  int64_t dim, start = 0, stop = 0, step = 1;
  Tensor apply(const Tensor& t) const {
    switch (kind) {
      case Select: return ops::select(t, dim, start);
      case Slice: return ops::slice(t, dim, start, stop, step);
      default: return ops::unsqueeze(t, dim);
    }
  }
};

// A key, numpy's and PyTorch's rules: its basic items as view steps, and its advanced items as
// index tensors on the dimensions of that view (undefined elsewhere); a bool mask of k
// dimensions is the k index tensors of its nonzero positions. Ints select first, so advanced
// dimensions are placed as PyTorch places them.
struct ParsedKey {
  std::vector<ViewStep> steps;
  std::vector<Tensor> indices;
  bool advanced = false;
  Tensor view_of(const Tensor& t) const {
    Tensor out = t;
    for (const ViewStep& step : steps) out = step.apply(out);
    return out;
  }
};

static Tensor as_index_tensor(const py::object& item, const Tensor& t) {
  return py::isinstance<Tensor>(item) ? item.cast<Tensor>() : index_array(item, t);
}

static ParsedKey parse_key(const Tensor& t, const py::object& key) {
  std::vector<py::object> items;
  if (py::isinstance<py::tuple>(key)) {
    for (py::handle item : key.cast<py::tuple>())
      items.push_back(py::reinterpret_borrow<py::object>(item));
  } else {
    items.push_back(key);
  }
  // The index tensors, read once; the dims each item consumes.
  std::vector<Tensor> tensors(items.size());
  int64_t named = 0;
  bool ellipsis = false;
  for (size_t i = 0; i < items.size(); ++i) {
    const py::object& item = items[i];
    if (item.is(py::ellipsis())) {
      FG_CHECK(!ellipsis, IndexError, "[index] an index can only have a single ellipsis ('...')");
      ellipsis = true;
    } else if (is_advanced(item)) {
      tensors[i] = as_index_tensor(item, t);
      named += tensors[i].dtype() == DType::Bool ? tensors[i].dim() : 1;
    } else if (!item.is_none()) {
      ++named;
    }
  }
  FG_CHECK(
      named <= t.dim(), IndexError,
      "[index] too many indices for a tensor of dimension " << t.dim() << " (got " << named << ")");
  ParsedKey parsed;
  Tensor view = t;
  std::vector<std::pair<int64_t, Tensor>> placed;  // (dim of the view, index tensor)
  int64_t dim = 0, source_dim = 0;  // the view's dim the next item applies to, and t's
  auto step = [&](ViewStep s) {
    view = s.apply(view);
    parsed.steps.push_back(s);
  };
  for (size_t i = 0; i < items.size(); ++i) {
    const py::object& item = items[i];
    if (item.is(py::ellipsis())) {
      dim += t.dim() - named;
      source_dim += t.dim() - named;
    } else if (item.is_none()) {
      step({ViewStep::Unsqueeze, dim++});
    } else if (tensors[i].defined() && tensors[i].dtype() == DType::Bool) {
      const Tensor& mask = tensors[i];
      Shape covered(view.shape().begin() + dim, view.shape().begin() + dim + mask.dim());
      FG_CHECK(mask.shape() == covered, IndexError,
               "[index] the shape of the mask " << mask.shape() << " at index " << i
                                                << " does not match the shape of the indexed "
                                                   "dimensions "
                                                << covered);
      Tensor found = ops::nonzero(mask);
      for (int64_t d = 0; d < mask.dim(); ++d) placed.push_back({dim++, ops::select(found, 1, d)});
      source_dim += mask.dim();
      parsed.advanced = true;
    } else if (tensors[i].defined()) {
      placed.push_back({dim++, tensors[i]});
      ++source_dim;
      parsed.advanced = true;
    } else if (py::isinstance<py::slice>(item)) {
      py::ssize_t start, stop, slice_step, length;
      item.cast<py::slice>().compute(view.shape()[dim], &start, &stop, &slice_step, &length);
      FG_CHECK(slice_step > 0, ValueError,
               "[index] slice steps must be positive, got " << slice_step);
      step({ViewStep::Slice, dim++, start, stop, slice_step});
      ++source_dim;
    } else if (py::isinstance<py::bool_>(item)) {
      throw TypeError("[index] boolean indices are not supported");
    } else if (py::hasattr(item, "__index__")) {  // int, numpy integer scalars
      int64_t index = index_value(item, view), size = view.shape()[dim];
      FG_CHECK(index >= -size && index < size, IndexError,
               "[index] index " << index << " is out of bounds for dimension " << source_dim
                                << " with size " << size);
      step({ViewStep::Select, dim, index});
      ++source_dim;
    } else {
      throw TypeError(
          "[index] expected an int, a slice, None, Ellipsis, a tensor or integer "
          "indices, got " +
          type_name(item));
    }
  }
  for (auto& [d, index] : placed) {
    if (parsed.indices.size() <= static_cast<size_t>(d)) parsed.indices.resize(d + 1);
    parsed.indices[d] = index;
  }
  return parsed;
}

// t[key]: a view for a basic key, a gather (ops::index) of that view for an advanced one.
static Tensor get_item(const Tensor& t, const py::object& key) {
  ParsedKey parsed = parse_key(t, key);
  Tensor view = parsed.view_of(t);
  return parsed.advanced ? ops::index(view, parsed.indices) : view;
}

// t[key] = value: value (a number, Tensor, array or list) broadcast into what the key picks,
// converted to t's dtype. Recorded for autograd as t's new history (t's old history is kept
// by the op's input): the overwritten elements get no gradient, value gets theirs.
static void set_item(Tensor& t, const py::object& key, const py::object& value_object) {
  ParsedKey parsed = parse_key(t, key);
  Tensor value;
  if (py::isinstance<Tensor>(value_object)) {
    value = value_object.cast<Tensor>();
  } else if (is_number(value_object)) {
    value = operand(value_object, t, "setitem");
  } else {
    py::array array = py::module_::import("numpy").attr("asarray")(value_object);
    value = ops::to_device(copy_from_numpy(array), t.device());
  }
  ops::check_same_device(t, value, "setitem");
  Tensor converted = ops::to_dtype(value, t.dtype());
  Tensor before = ops::write_in_place(t, {t, converted}, "setitem", [&](Tensor& target) {
    Tensor view = parsed.view_of(target);
    if (parsed.advanced) {
      ops::index_put_(view, parsed.indices, converted, false);
      return;
    }
    FG_CHECK(ops::broadcastable_to(converted.shape(), view.shape()), ValueError,
             "[setitem] a value of shape " << converted.shape()
                                           << " cannot be broadcast to the indexed shape "
                                           << view.shape());
    ops::check_writable(view, "setitem");
    // a private copy when the value overlaps the target (x[1:] = x[:-1])
    Tensor source = converted.storage() == target.storage() ? ops::clone(converted) : converted;
    ops::copy_(view, ops::expand(source, view.shape()));
  });
  if (!before.defined()) return;
  record(t, "setitem", {before, converted},
         [parsed, value_shape = converted.shape()](const Tensor& dout) {
           Tensor dt = ops::clone(dout);
           {  // what was overwritten gets no gradient
             NoGradGuard no_grad;
             Tensor region = parsed.view_of(dt);
             if (parsed.advanced)
               ops::index_put_(region, parsed.indices, ops::zeros({}, dt.dtype(), dt.device()),
                               false);
             else
               ops::fill_(region, 0.0);
           }
           Tensor picked = parsed.view_of(dout);
           if (parsed.advanced) picked = ops::index(picked, parsed.indices);
           return std::vector<Tensor>{dt, ops::sum_to(picked, value_shape)};
         });
}

// A Python hook the engine holds: the engine may drop it without the GIL, so it is dropped
// under it
static std::shared_ptr<py::function> held_under_gil(py::function hook) {
  return std::shared_ptr<py::function>(new py::function(std::move(hook)), [](py::function* f) {
    py::gil_scoped_acquire gil;
    delete f;
  });
}

void bind_tensor(py::module_& m) {
  py::class_<Node, std::shared_ptr<Node>>(m, "Node")
      .def_property_readonly("name", [](const Node& n) { return n.name; })
      .def("__repr__", [](const Node& n) {
        std::string camel;  // "log_softmax" -> "LogSoftmaxBackward", as PyTorch names them
        for (size_t i = 0; i < n.name.size(); ++i) {
          if (n.name[i] == '_') continue;
          bool word_start = i == 0 || n.name[i - 1] == '_';
          camel += word_start ? static_cast<char>(std::toupper(n.name[i])) : n.name[i];
        }
        return "<" + camel + "Backward>";
      });

  m.def("_leaves_in_graph", &leaves_in_graph, py::arg("roots"), py::arg("leaves"));
  // autograd.Function: output i of `outputs` becomes the result of a node over `inputs`
  // whose rule is backward(i, dout) -> one gradient or None per input (autograd.py checks
  // them), called by a GIL-free backward, so under the GIL
  m.def("_record_function", [](std::vector<Tensor> outputs, const std::vector<Tensor>& inputs,
                               py::function backward, const std::string& name) {
    auto held = held_under_gil(std::move(backward));
    for (size_t i = 0; i < outputs.size(); ++i)
      record(outputs[i], name.c_str(), inputs, [held, i](const Tensor& dout) {
        py::gil_scoped_acquire gil;
        std::vector<Tensor> grads;
        for (py::handle g : (*held)(i, dout))
          grads.push_back(g.is_none() ? Tensor() : g.cast<Tensor>());
        return grads;
      });
  });
  // autograd.backward and autograd.grad (autograd.py checks and shapes their arguments);
  // a gradient None is undefined: ones for a one-element root
  auto seeds_of = [](const std::vector<std::optional<Tensor>>& gradients) {
    std::vector<Tensor> seeds;
    for (const auto& g : gradients) seeds.push_back(g ? *g : Tensor());
    return seeds;
  };
  m.def("_backward",
        [seeds_of](const std::vector<Tensor>& roots,
                   const std::vector<std::optional<Tensor>>& gradients, bool retain_graph) {
          std::vector<Tensor> seeds = seeds_of(gradients);
          py::gil_scoped_release no_gil;
          ops::backward(roots, seeds, retain_graph);
        });
  m.def("_grad",
        [seeds_of](const std::vector<Tensor>& roots,
                   const std::vector<std::optional<Tensor>>& gradients,
                   const std::vector<Tensor>& inputs, bool retain_graph, const std::string& op) {
          std::vector<Tensor> seeds = seeds_of(gradients);
          std::vector<Tensor> found;
          {
            py::gil_scoped_release no_gil;
            found = ops::grad(roots, seeds, inputs, retain_graph, op.c_str());
          }
          py::list out;
          for (const Tensor& g : found) out.append(g.defined() ? py::cast(g) : py::none());
          return out;
        });

  py::class_<Tensor> tensor(m, "Tensor", R"(An n-dimensional array of one dtype on one device.

Made by forgegrad.tensor(data) and the creation functions (zeros, randn, arange, ...).
Movement ops (view, transpose, slicing, expand) return views that share the memory; every
other op returns a new tensor. With requires_grad=True, the ops record a graph that
backward() walks to fill each leaf's .grad.)",
                            py::dynamic_attr());
  tensor
      .def(py::init([](const Tensor& other) { return other.detach(); }),
           "A new leaf sharing other's storage")
      .def_property_readonly(
          "shape", [](const Tensor& t) { return py::tuple(py::cast(t.shape())); },
          "The size of each dim, a tuple of ints.")
      .def_property_readonly("ndim", &Tensor::dim, "The number of dims.")
      .def("dim", &Tensor::dim, "The number of dims.")
      .def("numel", &Tensor::numel, "The number of elements.")
      .def(
          "size",
          [](const Tensor& t, py::object dim) -> py::object {
            if (dim.is_none()) return py::tuple(py::cast(t.shape()));
            return py::int_(t.size(dim.cast<int64_t>()));
          },
          py::arg("dim") = py::none(), "The shape, or the size of dim `dim`.")
      .def("__len__",
           [](const Tensor& t) {
             FG_CHECK(t.dim() > 0, TypeError, "[len] len() of a 0-d tensor");
             return t.shape()[0];
           })
      .def_property_readonly("dtype", &Tensor::dtype, "The element type.")
      .def_property_readonly("device", &Tensor::device, "Where the values live.")
      .def_property(
          "requires_grad", &Tensor::requires_grad,
          [](Tensor& t, const py::object& flag) {
            FG_CHECK(py::isinstance<py::bool_>(flag), TypeError,
                     "[requires_grad] expected True or False, got " << type_name(flag));
            t.set_requires_grad(flag.cast<bool>());
          },
          "Whether ops on this tensor record a graph for backward().")
      .def(
          "requires_grad_",
          [](py::object self, bool flag) {
            self.cast<Tensor&>().set_requires_grad(flag);
            return self;  // the same Python object, as PyTorch returns
          },
          py::arg("requires_grad") = true)
      .def_property(
          "grad",
          [](const Tensor& t) -> py::object {
            return t.grad().defined() ? py::cast(t.grad()) : py::none();
          },
          [](Tensor& t, const py::object& g) {
            t.set_grad(optional_tensor(g, "grad", "the gradient"));
          },
          "The gradient that backward() accumulated into this leaf, or None.")
      .def_property_readonly("grad_fn", &Tensor::grad_fn,
                             "The graph node that made this tensor, or None for a leaf.")
      .def_property_readonly("is_leaf", &Tensor::is_leaf,
                             "Whether this tensor was made by the user rather than by a "
                             "recorded op (its .grad is kept).")
      .def(
          "backward",
          [](const Tensor& t, const py::object& gradient, bool retain_graph) {
            Tensor g = optional_tensor(gradient, "backward", "gradient");
            py::gil_scoped_release no_gil;
            ops::backward({t}, {g}, retain_graph);
          },
          py::arg("gradient") = py::none(), py::arg("retain_graph") = false)
      .def("retain_grad", &retain_grad,
           "Keep this non-leaf's gradient in .grad when backward() computes it, as a leaf's.")
      .def_property_readonly(
          "retains_grad",
          [](const Tensor& t) {
            std::lock_guard<std::mutex> lock(grad_lock(t.impl()));
            return !t.is_leaf() && t.impl()->retains_grad;
          },
          "Whether backward() keeps this non-leaf's gradient in .grad (retain_grad()).")
      // hook(grad) -> Tensor or None (_tensor.py wraps the user's hook and checks what it
      // returns), called by a GIL-free backward, so called, and finally dropped, under the GIL
      .def("_add_grad_hook",
           [](const Tensor& t, py::function hook) {
             return add_grad_hook(t, [held = held_under_gil(std::move(hook))](const Tensor& grad) {
               py::gil_scoped_acquire gil;
               py::object result = (*held)(grad);
               return result.is_none() ? Tensor() : result.cast<Tensor>();
             });
           })
      .def("_remove_grad_hook", &remove_grad_hook)
      // hook(leaf) (the Python layer wraps the user's hook, _tensor.py), called by a GIL-free
      // backward, so called, and finally dropped, under the GIL.
      .def("_add_post_accumulate_grad_hook",
           [](const Tensor& t, py::function hook) {
             return add_post_accumulate_grad_hook(
                 t, [held = held_under_gil(std::move(hook))](const Tensor& leaf) {
                   py::gil_scoped_acquire gil;
                   (*held)(leaf);
                 });
           })
      .def("_remove_post_accumulate_grad_hook", &remove_post_accumulate_grad_hook)
      // A write made outside forgegrad (MPI, NCCL) counts as an in-place write: backward then
      // refuses a rule that saved the old values, as after add_ or copy_.
      .def("_bump_version",
           [](const Tensor& t) {
             t.storage()->bump_version();
             t.storage()->forget_index_bounds();
           })
      .def("detach", &Tensor::detach)
      .def("numpy", &to_numpy)
      .def("item",
           [](const Tensor& gpu_or_cpu) -> py::object {
             FG_CHECK(
                 gpu_or_cpu.numel() == 1, ValueError,
                 "[item] only one-element tensors can be converted to a Python scalar, got shape "
                     << gpu_or_cpu.shape());
             // the value, on the host
             Tensor t = ops::to_device(ops::contiguous(gpu_or_cpu.detach()), Device{});
             return dispatch_dtype(t.dtype(), "item", [&](auto tag) -> py::object {
               using T = typename decltype(tag)::type;
               T value = *t.data<T>();
               if constexpr (std::is_same_v<T, bool>)
                 return py::bool_(value);
               else if constexpr (std::is_integral_v<T>)
                 return py::int_(value);
               else
                 return py::float_(static_cast<double>(value));
             });
           })
      .def_property_readonly("__cuda_array_interface__", &cuda_array_interface)
      .def("storage_offset", &Tensor::storage_offset)
      // For copy.deepcopy, which copies a storage once however many views of it it meets
      // (views stay views of one copy, as in PyTorch): the storage's identity and length,
      // and a view of it at any place.
      .def("_storage_key",
           [](const Tensor& t) { return reinterpret_cast<uintptr_t>(t.storage().get()); })
      .def("_storage_size",
           [](const Tensor& t) {
             return static_cast<int64_t>(t.storage()->nbytes() / dtype_size(t.dtype()));
           })
      .def("_as_strided",
           [](const Tensor& t, const Shape& shape, const Shape& strides, int64_t offset) {
             return t.as_strided(shape, strides, offset, "as_strided");
           })
      .def("is_contiguous", &Tensor::is_contiguous)
      .def(
          "stride",
          [](const Tensor& t, py::object dim) -> py::object {
            if (dim.is_none()) return py::tuple(py::cast(t.strides()));
            return py::int_(t.stride(dim.cast<int64_t>()));
          },
          py::arg("dim") = py::none())
      .def("_data_ptr",
           [](const Tensor& t) { return reinterpret_cast<uintptr_t>(exported_data(t)); })
      .def(
          "__array__",
          [](const Tensor& t, py::object dtype, py::object copy) {
            py::array a = to_numpy(t.detach());
            return dtype.is_none() ? a : a.attr("astype")(dtype).cast<py::array>();
          },
          py::arg("dtype") = py::none(), py::arg("copy") = py::none())
      .def_property_readonly_static("__array_priority__", [](py::object) { return 1000; })
      .def("__getitem__", &get_item)
      .def("__setitem__", &set_item);

  // Arithmetic: a Python number on either side becomes a 0-d tensor.
  using BinaryFn = Tensor (*)(const Tensor&, const Tensor&);
  auto bind_binary = [&](const char* name, const char* rname, BinaryFn fn, const char* op) {
    tensor.def(name,
               [fn, op](const Tensor& a, const py::object& b) { return fn(a, operand(b, a, op)); });
    tensor.def(rname,
               [fn, op](const Tensor& a, const py::object& b) { return fn(operand(b, a, op), a); });
  };
  bind_binary("__add__", "__radd__", ops::add, "add");
  bind_binary("__sub__", "__rsub__", ops::sub, "sub");
  bind_binary("__mul__", "__rmul__", ops::mul, "mul");
  bind_binary("__truediv__", "__rtruediv__", ops::div, "div");
  bind_binary("__matmul__", "__rmatmul__", ops::matmul, "matmul");
  bind_binary("__mod__", "__rmod__", ops::remainder, "remainder");
  bind_binary("__floordiv__", "__rfloordiv__", ops::floor_divide, "floor_divide");
  bind_binary("__and__", "__rand__", ops::bitwise_and, "bitwise_and");
  bind_binary("__or__", "__ror__", ops::bitwise_or, "bitwise_or");
  bind_binary("__xor__", "__rxor__", ops::bitwise_xor, "bitwise_xor");
  bind_binary("__lshift__", "__rlshift__", ops::bitwise_left_shift, "bitwise_left_shift");
  bind_binary("__rshift__", "__rrshift__", ops::bitwise_right_shift, "bitwise_right_shift");
  tensor.def("__neg__", &ops::neg);
  tensor.def("__invert__", &ops::bitwise_not);
  // ** is the op table's pow (a number exponent keeps the scalar kernel); 2 ** x broadcasts.
  tensor.def("__rpow__", [](const Tensor& x, const py::object& base) {
    return ops::pow(operand(base, x, "pow"), x);
  });

  auto bind_compare = [&](const char* name, ops::CompareOp op, const char* op_name) {
    tensor.def(name, [op, op_name](const Tensor& a, const py::object& b) {
      return ops::compare(op, a, operand(b, a, op_name));
    });
  };
  bind_compare("__eq__", ops::CompareOp::Eq, "eq");
  bind_compare("__ne__", ops::CompareOp::Ne, "ne");
  bind_compare("__lt__", ops::CompareOp::Lt, "lt");
  bind_compare("__le__", ops::CompareOp::Le, "le");
  bind_compare("__gt__", ops::CompareOp::Gt, "gt");
  bind_compare("__ge__", ops::CompareOp::Ge, "ge");
  // == is elementwise, yet tensors hash by identity, as in PyTorch (parameters key dicts).
  tensor.attr("__hash__") = py::module_::import("builtins").attr("object").attr("__hash__");
  // numpy defers to Tensor's reflected operators (np.float32(2) * t is a Tensor).
  tensor.attr("__array_ufunc__") = py::none();

  m.def("from_numpy", &from_numpy, py::arg("array"));
  m.def("_move_to_", &move_to_, py::arg("tensors"), py::arg("device") = py::none(),
        py::arg("dtype") = py::none());
  m.def("_copy_from_numpy", &copy_from_numpy, py::arg("array"));
}

}  // namespace fg::python
