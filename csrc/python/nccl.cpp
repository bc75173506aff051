// forgegrad._C._nccl_*: the NCCL communicator (cuda/nccl.h) on tensors, for
// python/forgegrad/distributed. Only in builds with CUDA; the Python layer checks tensors'
// layout and sizes, and this file again, so nothing reaches NCCL past a tensor's end.
#ifdef FORGEGRAD_WITH_CUDA
#include "cuda/nccl.h"

#include "core/error.h"
#include "python/bindings.h"

namespace fg::python {

using cuda::nccl::Communicator;

static void* device_buffer(const Tensor& t, const Communicator& comm, const char* op) {
  FG_CHECK(t.device().is_cuda() && t.device().index == comm.device(), ValueError,
           "[" << op << "] expected a tensor on cuda:" << comm.device()
               << ", the device of "
                  "this process group, got one on "
               << t.device().str());
  FG_CHECK(t.is_contiguous(), ValueError, "[" << op << "] expected a contiguous tensor");
  return exported_data(t);
}

void bind_nccl(py::module_& m) {
  m.def("_nccl_load", &cuda::nccl::load, py::arg("path"));
  m.def("_nccl_version", &cuda::nccl::version);
  m.def("_nccl_unique_id", [] { return py::bytes(cuda::nccl::unique_id()); });
  py::class_<Communicator>(m, "_NcclCommunicator")
      .def(py::init([](const py::bytes& id, int world, int rank, int device) {
             std::string unique_id = id;
             py::gil_scoped_release no_gil;  // blocks until every rank has joined
             return new Communicator(unique_id, world, rank, device);
           }),
           py::arg("unique_id"), py::arg("world"), py::arg("rank"), py::arg("device"))
      .def_property_readonly("device", &Communicator::device)
      .def("all_reduce",
           [](Communicator& comm, const Tensor& t, int op) {
             void* data = device_buffer(t, comm, "all_reduce");
             comm.all_reduce(data, t.numel(), t.dtype(), static_cast<cuda::nccl::ReduceOp>(op));
           })
      .def("broadcast",
           [](Communicator& comm, const Tensor& t, int root) {
             comm.broadcast(device_buffer(t, comm, "broadcast"), t.numel(), t.dtype(), root);
           })
      .def("all_gather",
           [](Communicator& comm, const Tensor& out, const Tensor& in, int world) {
             FG_CHECK(out.dtype() == in.dtype() && out.numel() == in.numel() * world, ValueError,
                      "[all_gather] expected an output of "
                          << in.numel() * world << " " << dtype_name(in.dtype())
                          << " elements, got " << out.numel() << " " << dtype_name(out.dtype()));
             comm.all_gather(device_buffer(out, comm, "all_gather"),
                             device_buffer(in, comm, "all_gather"), in.numel(), in.dtype());
           })
      .def("reduce_scatter",
           [](Communicator& comm, const Tensor& out, const Tensor& in, int op, int world) {
             FG_CHECK(out.dtype() == in.dtype() && out.numel() * world == in.numel(), ValueError,
                      "[reduce_scatter] expected an input of "
                          << out.numel() * world << " " << dtype_name(out.dtype())
                          << " elements, got " << in.numel() << " " << dtype_name(in.dtype()));
             comm.reduce_scatter(device_buffer(out, comm, "reduce_scatter"),
                                 device_buffer(in, comm, "reduce_scatter"), out.numel(),
                                 out.dtype(), static_cast<cuda::nccl::ReduceOp>(op));
           });
}

}  // namespace fg::python
#endif
