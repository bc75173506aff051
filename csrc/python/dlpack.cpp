// DLPack exchange: Tensor.__dlpack__ / __dlpack_device__ export a tensor's memory without a
// copy, forgegrad.from_dlpack takes in anything that speaks the protocol (numpy, CuPy, ...).
// The structs are DLPack's stable (unversioned, 0.x) ABI, the "dltensor" capsule of the
// Python specification: the consumer renames a capsule it took to "used_dltensor" and calls
// the deleter when it is done; a capsule nobody took is deleted by its destructor.
#include <cstring>

#include "core/error.h"
#include "ops/ops.h"
#include "python/bindings.h"
#ifdef FORGEGRAD_WITH_CUDA
#include "cuda/device.h"
#endif

namespace fg::python {
namespace {

enum DLDeviceType : int32_t { kDLCPU = 1, kDLCUDA = 2 };
enum DLDataTypeCode : uint8_t { kDLInt = 0, kDLUInt = 1, kDLFloat = 2, kDLBfloat = 4, kDLBool = 6 };

struct DLDevice {
  int32_t device_type;
  int32_t device_id;
};
struct DLDataType {
  uint8_t code;
  uint8_t bits;
  uint16_t lanes;
};
struct DLTensor {
  void* data;
  DLDevice device;
  int32_t ndim;
  DLDataType dtype;
  int64_t* shape;
  int64_t* strides;  // in elements; null means compact row-major
  uint64_t byte_offset;
};
struct DLManagedTensor {
  DLTensor dl_tensor;
  void* manager_ctx;
  void (*deleter)(DLManagedTensor* self);
};

#ifdef FORGEGRAD_WITH_CUDA
constexpr bool kCudaBuild = true;
#else
constexpr bool kCudaBuild = false;
#endif

constexpr const char* kCapsuleName = "dltensor";
constexpr const char* kUsedCapsuleName = "used_dltensor";

// ---- export -------------------------------------------------------------------------------

// What an exported tensor keeps alive: its storage, and the shape and strides DLPack points at.
struct Export {
  DLManagedTensor managed;
  std::shared_ptr<Storage> storage;
  std::vector<int64_t> shape, strides;
};

DLDataType dl_dtype(DType dtype) {
  uint8_t bits = static_cast<uint8_t>(8 * dtype_size(dtype));
  uint8_t code = dtype == DType::BFloat16 ? kDLBfloat
                 : is_floating(dtype)     ? kDLFloat
                 : dtype == DType::Bool   ? kDLBool
                 : dtype == DType::UInt8  ? kDLUInt
                                          : kDLInt;
  return {code, bits, 1};
}

DLDevice dl_device(Device device) {
  return device.is_cpu() ? DLDevice{kDLCPU, 0} : DLDevice{kDLCUDA, device.index};
}

void delete_export(DLManagedTensor* managed) { delete static_cast<Export*>(managed->manager_ctx); }

py::capsule to_dlpack(const Tensor& t) {
  auto* context = new Export{};
  context->storage = t.storage();
  context->shape = t.shape();
  context->strides = t.strides();  // a view exports its own strides: no copy
  DLTensor& dl = context->managed.dl_tensor;
  // The view's own first element, byte_offset 0: PyTorch ignores byte_offset (as numpy's
  // exporter notes), and would read a view from the start of its storage.
  dl.data = exported_data(t);
  dl.byte_offset = 0;
  dl.device = dl_device(t.device());
  dl.ndim = static_cast<int32_t>(t.dim());
  dl.dtype = dl_dtype(t.dtype());
  dl.shape = context->shape.data();
  dl.strides = context->strides.data();
  context->managed.manager_ctx = context;
  context->managed.deleter = delete_export;
  return py::capsule(&context->managed, kCapsuleName, [](PyObject* capsule) {
    // Still named "dltensor": nobody took it, so it is ours to delete.
    if (PyCapsule_IsValid(capsule, kCapsuleName)) {
      auto* managed = static_cast<DLManagedTensor*>(PyCapsule_GetPointer(capsule, kCapsuleName));
      managed->deleter(managed);
    }
  });
}

// t.__dlpack__(stream=None, max_version=None, dl_device=None, copy=None), as the Python
// specification asks. forgegrad's kernels run on the legacy default stream: a CUDA consumer
// naming a stream of its own (not None, -1 "no sync", 1 the legacy default or 2 the
// per-thread default, which order after it by themselves; 0 is ambiguous and refused, as
// the specification says) gets that stream made to wait for them, since a non-blocking
// stream would not.
py::capsule dunder_dlpack(const Tensor& t, const py::object& stream, const py::object& max_version,
                          const py::object& device, const py::object& copy) {
  FG_CHECK(!t.requires_grad(), RuntimeError,
           "[__dlpack__] can't export a tensor that requires grad; use tensor.detach()");
  if (!device.is_none()) {
    auto wanted = device.cast<std::pair<int32_t, int32_t>>();
    DLDevice here = dl_device(t.device());
    if (wanted.first != here.device_type || wanted.second != here.device_id)
      throw py::buffer_error("[__dlpack__] can't export a " + t.device().str() +
                             " tensor to another device; move it with .to() first");
  }
  bool force_copy = !copy.is_none() && copy.cast<bool>();
  Tensor exported = force_copy ? ops::clone(t.detach()) : t;
#ifdef FORGEGRAD_WITH_CUDA
  if (exported.device().is_cuda() && !stream.is_none()) {
    int64_t id = stream.cast<int64_t>();
    FG_CHECK(id == -1 || id >= 1, ValueError,
             "[__dlpack__] expected stream None, -1, 1, 2 or a CUDA stream handle, got " << id);
    if (id > 2)
      cuda::order_stream_after_default(exported.device().index, static_cast<uintptr_t>(id));
  }
#endif
  return to_dlpack(exported);
}

// ---- import -------------------------------------------------------------------------------

DType dtype_from_dl(const DLDataType& dt) {
  for (int d = 0; d < kDTypeCount && dt.lanes == 1; ++d) {
    DLDataType ours = dl_dtype(static_cast<DType>(d));
    if (ours.code == dt.code && ours.bits == dt.bits) return static_cast<DType>(d);
  }
  static const char* kinds[] = {"int", "uint", "float", "opaque", "bfloat", "complex", "bool"};
  std::string kind = dt.code < 7 ? kinds[dt.code] : "code " + std::to_string(dt.code) + " ";
  throw TypeError(
      "[from_dlpack] expected data of a forgegrad dtype (float, int, uint8, bool), "
      "got " +
      kind + std::to_string(dt.bits) + (dt.lanes == 1 ? "" : " x" + std::to_string(dt.lanes)) +
      " (forgegrad.tensor converts other dtypes, with a copy)");
}

Device device_from_dl(const DLDevice& device) {
  if (device.device_type == kDLCPU) return Device{};
#ifdef FORGEGRAD_WITH_CUDA
  if (device.device_type == kDLCUDA) return Device{DeviceType::CUDA, device.device_id};
#endif
  throw ValueError("[from_dlpack] expected memory on the cpu" +
                   std::string(kCudaBuild ? " or a CUDA device" : "") +
                   ", got DLPack device type " + std::to_string(device.device_type) +
                   (device.device_type == kDLCUDA ? " (CUDA; this build has no CUDA)" : ""));
}

// The strides (in elements) of a DLPack tensor, row-major where it gives none.
Shape strides_of(const DLTensor& dl, const Shape& shape) {
  return dl.strides ? Shape(dl.strides, dl.strides + dl.ndim) : contiguous_strides(shape);
}

// A strided CPU array -> a compact copy, element by element (bytes per element: size).
void gather_strided(char* out, const char* base, const DLTensor& dl, size_t size) {
  std::vector<int64_t> index(dl.ndim, 0);
  int64_t numel = shape_numel(Shape(dl.shape, dl.shape + dl.ndim), "from_dlpack");
  for (int64_t i = 0; i < numel; ++i) {
    int64_t offset = 0;
    for (int32_t d = 0; d < dl.ndim; ++d) offset += index[d] * dl.strides[d];
    std::memcpy(out + i * size, base + offset * static_cast<int64_t>(size), size);
    for (int32_t d = dl.ndim - 1; d >= 0 && ++index[d] == dl.shape[d]; --d) index[d] = 0;
  }
}

Tensor from_capsule(py::capsule capsule) {
  FG_CHECK(PyCapsule_IsValid(capsule.ptr(), kCapsuleName), ValueError,
           "[from_dlpack] expected an unused 'dltensor' capsule (a capsule can be taken once)");
  auto* managed = static_cast<DLManagedTensor*>(PyCapsule_GetPointer(capsule.ptr(), kCapsuleName));
  // From here on the tensor is ours: the capsule must not delete it.
  PyCapsule_SetName(capsule.ptr(), kUsedCapsuleName);
  auto release = [managed] {
    py::gil_scoped_acquire gil;  // a producer's deleter may drop Python references
    if (managed->deleter) managed->deleter(managed);
  };
  const DLTensor& dl = managed->dl_tensor;
  Shape shape;
  DType dtype;
  Device device;
  try {
    FG_CHECK(dl.ndim >= 0, ValueError, "[from_dlpack] negative ndim " << dl.ndim);
    shape.assign(dl.shape, dl.shape + dl.ndim);
    shape_numel(shape, "from_dlpack");  // a producer's sizes: non-negative, countable
    dtype = dtype_from_dl(dl.dtype);
    device = device_from_dl(dl.device);
  } catch (...) {
    release();
    throw;
  }
  size_t size = dtype_size(dtype);
  char* base = static_cast<char*>(dl.data) + dl.byte_offset;
  Shape strides = strides_of(dl, shape);
  // Shared as a view when its strides are ones a tensor can have (none negative): the
  // storage spans up to the last element it reaches.
  int64_t last = 0;
  bool positive = true;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] <= 1) strides[d] = std::max<int64_t>(strides[d], 0);
    positive = positive && strides[d] >= 0;
    last += (shape[d] - 1) * strides[d];
  }
  bool aligned = reinterpret_cast<uintptr_t>(base) % size == 0;
  int64_t numel = shape_numel(shape);
  if (positive && aligned) {
    size_t nbytes = numel == 0 ? 0 : static_cast<size_t>(last + 1) * size;
    Tensor flat = Tensor::from_storage(Storage::wrap(base, nbytes, device, release),
                                       {numel == 0 ? 0 : last + 1}, dtype);
    return flat.as_strided(shape, strides, 0, "from_dlpack");
  }
  // A layout a tensor cannot have: copied on the CPU, refused elsewhere.
  if (!device.is_cpu()) {
    release();
    throw ValueError("[from_dlpack] expected a " + device.str() +
                     " tensor without negative strides or misaligned data; copy it first");
  }
  Tensor out = Tensor::empty(shape, dtype, device);
  DLTensor layout = dl;
  layout.strides = strides.data();
  gather_strided(static_cast<char*>(out.raw_data()), base, layout, size);
  release();
  return out;
}

// forgegrad.from_dlpack(x): x is an object with __dlpack__ (numpy, CuPy, another
// framework's tensor) or a "dltensor" capsule.
Tensor from_dlpack(const py::object& x) {
  if (py::isinstance<Tensor>(x)) return x.cast<Tensor>().detach();
  if (py::isinstance<py::capsule>(x)) return from_capsule(x.cast<py::capsule>());
  FG_CHECK(py::hasattr(x, "__dlpack__") && py::hasattr(x, "__dlpack_device__"), TypeError,
           "[from_dlpack] expected an object with __dlpack__ and __dlpack_device__ (or a "
           "DLPack capsule), got "
               << type_name(x));
  auto device = x.attr("__dlpack_device__")().cast<std::pair<int32_t, int32_t>>();
  // CUDA producers are asked to order their work before the legacy default stream (1),
  // the stream forgegrad's kernels run on.
  py::object capsule = device.first == kDLCUDA ? x.attr("__dlpack__")(py::arg("stream") = 1)
                                               : x.attr("__dlpack__")();
  FG_CHECK(py::isinstance<py::capsule>(capsule), TypeError,
           "[from_dlpack] __dlpack__ returned " << type_name(capsule) << ", not a capsule");
  return from_capsule(capsule.cast<py::capsule>());
}

}  // namespace

void bind_dlpack(py::module_& m) {
  auto tensor = py::reinterpret_borrow<py::class_<Tensor>>(m.attr("Tensor"));
  tensor.def("__dlpack__", &dunder_dlpack, py::kw_only(), py::arg("stream") = py::none(),
             py::arg("max_version") = py::none(), py::arg("dl_device") = py::none(),
             py::arg("copy") = py::none());
  tensor.def("__dlpack_device__", [](const Tensor& t) {
    DLDevice device = dl_device(t.device());
    return py::make_tuple(device.device_type, device.device_id);
  });
  m.def("from_dlpack", &from_dlpack, py::arg("x"));
}

}  // namespace fg::python
