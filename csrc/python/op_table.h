// clang-format off: the table keeps one op per line.
// The op table: ONE line per op binding. csrc/python/ops.cpp expands it into the module's
// functions (m.def, with these argument names and defaults, shown by help()) and into
// forgegrad._C._op_table, which python/forgegrad/_ops.py reads at import to attach Tensor
// methods and fill the exports (forgegrad, forgegrad.nn.functional, their __all__); the tests
// iterate the same list (tests/test_op_table.py, tests/op_db.py).
//
//   FG_OP(name, function, (arguments), where)
//
// name       the Python name (a leading _ marks a helper the Python layer wraps)
// function   &ops::name where the C++ op's signature takes the arguments as they come, else
//            an adapter (a small parser) defined in ops.cpp above the #include of this table
// arguments  pybind11 annotations in parentheses: "input"_a, "dim"_a = -1, py::kw_only(), or ()
// where      0 (only in forgegrad._C), or any of kMethod (a Tensor method, the tensor its
//            first argument), kForgegrad (forgegrad.name), kFunctional (nn.functional.name),
//            kInPlace (also Tensor.name_: the result written back into the tensor)
//
// Keep each family together; a new op is one line here plus its op_db entry in tests/op_db.py.

// ---- creation, random state, copies (the public creation functions wrap these in creation.py)
FG_OP(_size, parse_shape, (), 0)  // _size(*sizes): the shape zeros(2, 3) or zeros((2, 3)) means
FG_OP(empty, empty_op, ("shape"_a, "dtype"_a = py::none(), "device"_a = py::none()), 0)
FG_OP(full, full_op, ("shape"_a, "fill_value"_a, "dtype"_a = py::none(), "device"_a = py::none()), 0)
FG_OP(full_int64, full_int64_op, ("shape"_a, "fill_value"_a, "device"_a = py::none()), 0)
FG_OP(arange, arange_op, ("start"_a, "end"_a, "step"_a, "dtype"_a, "device"_a = py::none()), 0)
FG_OP(_arange_int64, arange_int64_op, ("start"_a, "end"_a, "step"_a, "device"_a = py::none()), 0)
FG_OP(rand, rand_op, ("shape"_a, "dtype"_a = py::none(), "device"_a = py::none(), "generator"_a = py::none()), 0)
FG_OP(randn, randn_op, ("shape"_a, "dtype"_a = py::none(), "device"_a = py::none(), "generator"_a = py::none()), 0)
FG_OP(_randint, randint_op, ("low"_a, "span"_a, "shape"_a, "device"_a, "generator"_a), 0)
FG_OP(_randperm, randperm_op, ("n"_a, "device"_a, "generator"_a), 0)
FG_OP(_multinomial, multinomial_op, ("input"_a, "num_samples"_a, "replacement"_a, "generator"_a), 0)
FG_OP(_poisson, poisson_op, ("input"_a, "generator"_a), 0)
FG_OP(manual_seed, manual_seed_op, ("seed"_a), kForgegrad)
FG_OP(clone, clone_op, ("input"_a, py::kw_only(), "memory_format"_a = MemoryFormat::Preserve),
      kMethod | kForgegrad)
FG_OP(_to_dtype, &ops::to_dtype, ("input"_a, "dtype"_a), 0)
FG_OP(_to_device, to_device_op, ("input"_a, "device"_a), 0)
FG_OP(_fill_, fill_op, ("self"_a, "value"_a), 0)
FG_OP(_copy_, copy_op, ("self"_a, "src"_a), 0)

// ---- elementwise
FG_OP(add, add_op, ("input"_a, "other"_a, py::kw_only(), "alpha"_a = 1), kMethod | kForgegrad | kInPlace)
FG_OP(sub, sub_op, ("input"_a, "other"_a, py::kw_only(), "alpha"_a = 1), kMethod | kForgegrad | kInPlace)
FG_OP(mul, mul_op, ("input"_a, "other"_a), kMethod | kForgegrad | kInPlace)
FG_OP(multiply, mul_op, ("input"_a, "other"_a), kMethod | kForgegrad | kInPlace)
FG_OP(div, div_op, ("input"_a, "other"_a, py::kw_only(), "rounding_mode"_a = py::none()),
      kMethod | kForgegrad | kInPlace)
FG_OP(divide, div_op, ("input"_a, "other"_a, py::kw_only(), "rounding_mode"_a = py::none()),
      kMethod | kForgegrad | kInPlace)
FG_OP(true_divide, div_op, ("input"_a, "other"_a, py::kw_only(), "rounding_mode"_a = py::none()),
      kMethod | kForgegrad | kInPlace)
FG_OP(floor_divide, floor_divide_op, ("input"_a, "other"_a), kMethod | kForgegrad | kInPlace)
FG_OP(remainder, remainder_op, ("input"_a, "other"_a), kMethod | kForgegrad | kInPlace)
FG_OP(fmod, fmod_op, ("input"_a, "other"_a), kMethod | kForgegrad | kInPlace)
FG_OP(pow, pow_op, ("input"_a, "exponent"_a), kMethod | kForgegrad | kInPlace)
FG_OP(maximum, maximum_op, ("input"_a, "other"_a), kMethod | kForgegrad)
FG_OP(minimum, minimum_op, ("input"_a, "other"_a), kMethod | kForgegrad)
FG_OP(fmax, fmax_op, ("input"_a, "other"_a), kMethod | kForgegrad)
FG_OP(fmin, fmin_op, ("input"_a, "other"_a), kMethod | kForgegrad)
FG_OP(atan2, atan2_op, ("input"_a, "other"_a), kMethod | kForgegrad | kInPlace)
FG_OP(arctan2, atan2_op, ("input"_a, "other"_a), kMethod | kForgegrad | kInPlace)
FG_OP(hypot, hypot_op, ("input"_a, "other"_a), kMethod | kForgegrad | kInPlace)
FG_OP(lerp, lerp_op, ("input"_a, "end"_a, "weight"_a), kMethod | kForgegrad | kInPlace)
FG_OP(bitwise_and, bitwise_and_op, ("input"_a, "other"_a), kMethod | kForgegrad | kInPlace)
FG_OP(bitwise_or, bitwise_or_op, ("input"_a, "other"_a), kMethod | kForgegrad | kInPlace)
FG_OP(bitwise_xor, bitwise_xor_op, ("input"_a, "other"_a), kMethod | kForgegrad | kInPlace)
FG_OP(bitwise_left_shift, bitwise_left_shift_op, ("input"_a, "other"_a), kMethod | kForgegrad | kInPlace)
FG_OP(bitwise_right_shift, bitwise_right_shift_op, ("input"_a, "other"_a), kMethod | kForgegrad | kInPlace)
FG_OP(bitwise_not, &ops::bitwise_not, ("input"_a), kMethod | kForgegrad | kInPlace)
FG_OP(logical_and, logical_and_op, ("input"_a, "other"_a), kMethod | kForgegrad | kInPlace)
FG_OP(logical_or, logical_or_op, ("input"_a, "other"_a), kMethod | kForgegrad | kInPlace)
FG_OP(logical_xor, logical_xor_op, ("input"_a, "other"_a), kMethod | kForgegrad | kInPlace)
FG_OP(logical_not, &ops::logical_not, ("input"_a), kMethod | kForgegrad | kInPlace)
FG_OP(neg, &ops::neg, ("input"_a), kMethod | kForgegrad | kInPlace)
FG_OP(exp, &ops::exp, ("input"_a), kMethod | kForgegrad | kInPlace)
FG_OP(log, &ops::log, ("input"_a), kMethod | kForgegrad | kInPlace)
FG_OP(log1p, &ops::log1p, ("input"_a), kMethod | kForgegrad | kInPlace)
FG_OP(sqrt, &ops::sqrt, ("input"_a), kMethod | kForgegrad | kInPlace)
FG_OP(abs, &ops::abs, ("input"_a), kMethod | kForgegrad | kInPlace)
#define FG_UNARY_MATH_ENTRY(Name, name) \
  FG_OP(name, &ops::name, ("input"_a), kMethod | kForgegrad | kInPlace)
FG_FOR_EACH_UNARY_MATH_OF_INPUT(FG_UNARY_MATH_ENTRY)
#undef FG_UNARY_MATH_ENTRY
FG_OP(frac, &ops::frac, ("input"_a), kMethod | kForgegrad | kInPlace)
FG_OP(square, &ops::square, ("input"_a), kMethod | kForgegrad | kInPlace)
FG_OP(round, round_op, ("input"_a, py::kw_only(), "decimals"_a = 0),
      kMethod | kForgegrad | kInPlace)
FG_OP(sgn, &ops::sign, ("input"_a), kMethod | kForgegrad | kInPlace)  // sign, for real tensors
FG_OP(polygamma, &ops::polygamma, ("n"_a, "input"_a), kMethod | kForgegrad | kInPlace)
FG_OP(nan_to_num, &ops::nan_to_num,
      ("input"_a, "nan"_a = 0.0, "posinf"_a = py::none(), "neginf"_a = py::none()),
      kMethod | kForgegrad | kInPlace)
FG_OP(bincount, bincount_op, ("input"_a, "weights"_a = py::none(), "minlength"_a = 0),
      kMethod | kForgegrad)
FG_OP(histc, &ops::histc, ("input"_a, "bins"_a = 100, "min"_a = 0.0, "max"_a = 0.0),
      kMethod | kForgegrad)
FG_OP(clamp, clamp_op, ("input"_a, "min"_a = py::none(), "max"_a = py::none()),
      kMethod | kForgegrad | kInPlace)
FG_OP(clip, clamp_op, ("input"_a, "min"_a = py::none(), "max"_a = py::none()),
      kMethod | kForgegrad | kInPlace)
FG_OP(clamp_min, clamp_min_op, ("input"_a, "min"_a), kMethod | kForgegrad | kInPlace)
FG_OP(clamp_max, clamp_max_op, ("input"_a, "max"_a), kMethod | kForgegrad | kInPlace)

// ---- comparisons and tests (-> bool)
FG_OP(eq, compare_op<CompareOp::Eq>, ("input"_a, "other"_a), kMethod | kForgegrad | kInPlace)
FG_OP(ne, compare_op<CompareOp::Ne>, ("input"_a, "other"_a), kMethod | kForgegrad | kInPlace)
FG_OP(not_equal, compare_op<CompareOp::Ne>, ("input"_a, "other"_a), kMethod | kForgegrad | kInPlace)
FG_OP(lt, compare_op<CompareOp::Lt>, ("input"_a, "other"_a), kMethod | kForgegrad | kInPlace)
FG_OP(less, compare_op<CompareOp::Lt>, ("input"_a, "other"_a), kMethod | kForgegrad | kInPlace)
FG_OP(le, compare_op<CompareOp::Le>, ("input"_a, "other"_a), kMethod | kForgegrad | kInPlace)
FG_OP(less_equal, compare_op<CompareOp::Le>, ("input"_a, "other"_a), kMethod | kForgegrad | kInPlace)
FG_OP(gt, compare_op<CompareOp::Gt>, ("input"_a, "other"_a), kMethod | kForgegrad | kInPlace)
FG_OP(greater, compare_op<CompareOp::Gt>, ("input"_a, "other"_a), kMethod | kForgegrad | kInPlace)
FG_OP(ge, compare_op<CompareOp::Ge>, ("input"_a, "other"_a), kMethod | kForgegrad | kInPlace)
FG_OP(greater_equal, compare_op<CompareOp::Ge>, ("input"_a, "other"_a), kMethod | kForgegrad | kInPlace)
FG_OP(isclose, isclose_op,
      ("input"_a, "other"_a, "rtol"_a = 1e-05, "atol"_a = 1e-08, "equal_nan"_a = false),
      kMethod | kForgegrad)
FG_OP(allclose, allclose_op,
      ("input"_a, "other"_a, "rtol"_a = 1e-05, "atol"_a = 1e-08, "equal_nan"_a = false),
      kMethod | kForgegrad)
FG_OP(equal, equal_op, ("input"_a, "other"_a), kMethod | kForgegrad)
FG_OP(isnan, &ops::isnan, ("input"_a), kMethod | kForgegrad)
FG_OP(isinf, &ops::isinf, ("input"_a), kMethod | kForgegrad)
FG_OP(isfinite, &ops::isfinite, ("input"_a), kMethod | kForgegrad)

// ---- reductions (dim: an int, a tuple of ints or None for all; axis= as numpy)
FG_OP(sum, sum_op,
      ("input"_a, "dim"_a = py::none(), "keepdim"_a = false, py::kw_only(),
       "dtype"_a = py::none(), "axis"_a = py::none()),
      kMethod | kForgegrad)
FG_OP(mean, mean_op,
      ("input"_a, "dim"_a = py::none(), "keepdim"_a = false, py::kw_only(),
       "dtype"_a = py::none(), "axis"_a = py::none()),
      kMethod | kForgegrad)
FG_OP(max, max_op, ("input"_a, "dim"_a = py::none(), "keepdim"_a = false), kMethod | kForgegrad)
FG_OP(min, min_op, ("input"_a, "dim"_a = py::none(), "keepdim"_a = false), kMethod | kForgegrad)
FG_OP(amax, amax_op, ("input"_a, "dim"_a = py::tuple(), "keepdim"_a = false), kMethod | kForgegrad)
FG_OP(amin, amin_op, ("input"_a, "dim"_a = py::tuple(), "keepdim"_a = false), kMethod | kForgegrad)
FG_OP(aminmax, aminmax_op,
      ("input"_a, py::kw_only(), "dim"_a = py::none(), "keepdim"_a = false), kMethod | kForgegrad)
FG_OP(argmax, &ops::argmax, ("input"_a, "dim"_a = py::none(), "keepdim"_a = false),
      kMethod | kForgegrad)
FG_OP(argmin, &ops::argmin, ("input"_a, "dim"_a = py::none(), "keepdim"_a = false),
      kMethod | kForgegrad)
FG_OP(prod, prod_op,
      ("input"_a, "dim"_a = py::none(), "keepdim"_a = false, py::kw_only(), "dtype"_a = py::none()),
      kMethod | kForgegrad)
FG_OP(var, var_op,
      ("input"_a, "dim"_a = py::none(), "unbiased"_a = py::none(), "keepdim"_a = false,
       py::kw_only(), "correction"_a = py::none()),
      kMethod | kForgegrad)
FG_OP(std, std_op,
      ("input"_a, "dim"_a = py::none(), "unbiased"_a = py::none(), "keepdim"_a = false,
       py::kw_only(), "correction"_a = py::none()),
      kMethod | kForgegrad)
FG_OP(var_mean, var_mean_op,
      ("input"_a, "dim"_a = py::none(), "unbiased"_a = py::none(), "keepdim"_a = false,
       py::kw_only(), "correction"_a = py::none()),
      kForgegrad)
FG_OP(std_mean, std_mean_op,
      ("input"_a, "dim"_a = py::none(), "unbiased"_a = py::none(), "keepdim"_a = false,
       py::kw_only(), "correction"_a = py::none()),
      kForgegrad)
FG_OP(logsumexp, logsumexp_op, ("input"_a, "dim"_a, "keepdim"_a = false), kMethod | kForgegrad)
FG_OP(norm, norm_op,
      ("input"_a, "p"_a = "fro", "dim"_a = py::none(), "keepdim"_a = false,
       "dtype"_a = py::none()),
      kMethod | kForgegrad)
FG_OP(vector_norm, vector_norm_op,  // forgegrad.linalg.vector_norm
      ("x"_a, "ord"_a = 2, "dim"_a = py::none(), "keepdim"_a = false, py::kw_only(),
       "dtype"_a = py::none()),
      0)
FG_OP(all, all_op,
      ("input"_a, "dim"_a = py::none(), "keepdim"_a = false, py::kw_only(), "axis"_a = py::none()),
      kMethod | kForgegrad)
FG_OP(any, any_op,
      ("input"_a, "dim"_a = py::none(), "keepdim"_a = false, py::kw_only(), "axis"_a = py::none()),
      kMethod | kForgegrad)
FG_OP(count_nonzero, count_nonzero_op, ("input"_a, "dim"_a = py::none()), kMethod | kForgegrad)
FG_OP(cumsum, cumsum_op, ("input"_a, "dim"_a, py::kw_only(), "dtype"_a = py::none()),
      kMethod | kForgegrad | kInPlace)
FG_OP(cumprod, cumprod_op, ("input"_a, "dim"_a, py::kw_only(), "dtype"_a = py::none()),
      kMethod | kForgegrad | kInPlace)
FG_OP(cummax, cummax_op, ("input"_a, "dim"_a), kMethod | kForgegrad)
FG_OP(cummin, cummin_op, ("input"_a, "dim"_a), kMethod | kForgegrad)
FG_OP(sort, sort_op,
      ("input"_a, "dim"_a = -1, "descending"_a = false, py::kw_only(), "stable"_a = false),
      kMethod | kForgegrad)
FG_OP(argsort, argsort_op,
      ("input"_a, "dim"_a = -1, "descending"_a = false, py::kw_only(), "stable"_a = false),
      kMethod | kForgegrad)
FG_OP(msort, msort_op, ("input"_a), kMethod | kForgegrad)
FG_OP(topk, topk_op,
      ("input"_a, "k"_a, "dim"_a = -1, "largest"_a = true, "sorted"_a = true), kMethod | kForgegrad)
FG_OP(kthvalue, kthvalue_op, ("input"_a, "k"_a, "dim"_a = -1, "keepdim"_a = false),
      kMethod | kForgegrad)
FG_OP(median, median_op, ("input"_a, "dim"_a = py::none(), "keepdim"_a = false),
      kMethod | kForgegrad)
FG_OP(nanmedian, nanmedian_op, ("input"_a, "dim"_a = py::none(), "keepdim"_a = false),
      kMethod | kForgegrad)
FG_OP(mode, mode_op, ("input"_a, "dim"_a = -1, "keepdim"_a = false), kMethod | kForgegrad)

// ---- shape
FG_OP(reshape, reshape_op, ("input"_a), kMethod | kForgegrad)  // reshape(input, *shape)
FG_OP(view, view_op, ("input"_a), kMethod)                     // t.view(*shape)
FG_OP(flatten, &ops::flatten, ("input"_a, "start_dim"_a = 0, "end_dim"_a = -1),
      kMethod | kForgegrad)
FG_OP(transpose, &ops::transpose, ("input"_a, "dim0"_a, "dim1"_a), kMethod | kForgegrad)

// ---- joining and splitting (split, chunk and unbind give views)
FG_OP(cat, cat_op, ("tensors"_a, "dim"_a = 0), kForgegrad)
FG_OP(concat, cat_op, ("tensors"_a, "dim"_a = 0), kForgegrad)
FG_OP(concatenate, cat_op, ("tensors"_a, "axis"_a = 0), kForgegrad)
FG_OP(stack, stack_op, ("tensors"_a, "dim"_a = 0), kForgegrad)
FG_OP(split, split_op, ("tensor"_a, "split_size_or_sections"_a, "dim"_a = 0),
      kMethod | kForgegrad)
FG_OP(chunk, chunk_op, ("input"_a, "chunks"_a, "dim"_a = 0), kMethod | kForgegrad)
FG_OP(unbind, unbind_op, ("input"_a, "dim"_a = 0), kMethod | kForgegrad)

// ---- views (metadata only: they share the input's storage) and layout
FG_OP(_contiguous, &ops::contiguous, ("input"_a), 0)  // Tensor.contiguous
FG_OP(permute, permute_op, ("input"_a), kMethod | kForgegrad)  // permute(input, *dims)
FG_OP(movedim, movedim_op, ("input"_a, "source"_a, "destination"_a), kMethod | kForgegrad)
FG_OP(swapaxes, &ops::transpose, ("input"_a, "axis0"_a, "axis1"_a), kMethod | kForgegrad)
FG_OP(swapdims, &ops::transpose, ("input"_a, "dim0"_a, "dim1"_a), kMethod | kForgegrad)
FG_OP(t, t_op, ("input"_a), kMethod | kForgegrad)
FG_OP(_matrix_transpose, &ops::matrix_transpose, ("input"_a), 0)  // Tensor.mT
FG_OP(_reverse_dims, &ops::reverse_dims, ("input"_a), 0)          // Tensor.T
FG_OP(expand, expand_op, ("input"_a), kMethod)                    // t.expand(*sizes)
FG_OP(expand_as, expand_as_op, ("input"_a, "other"_a), kMethod)
FG_OP(broadcast_to, &ops::expand, ("input"_a, "size"_a), kMethod | kForgegrad)
FG_OP(narrow, &ops::narrow, ("input"_a, "dim"_a, "start"_a, "length"_a), kMethod | kForgegrad)
FG_OP(select, &ops::select, ("input"_a, "dim"_a, "index"_a), kMethod | kForgegrad)
FG_OP(unsqueeze, &ops::unsqueeze, ("input"_a, "dim"_a), kMethod | kForgegrad)
FG_OP(squeeze, squeeze_op, ("input"_a, "dim"_a = py::none()), kMethod | kForgegrad)
FG_OP(unflatten, &ops::unflatten, ("input"_a, "dim"_a, "sizes"_a), kMethod | kForgegrad)
FG_OP(diagonal, &ops::diagonal, ("input"_a, "offset"_a = 0, "dim1"_a = 0, "dim2"_a = 1),
      kMethod | kForgegrad)
FG_OP(unfold, &ops::unfold, ("input"_a, "dimension"_a, "size"_a, "step"_a), kMethod)

// ---- indexing (x[key] and x[key] = value are Tensor.__getitem__ / __setitem__)
FG_OP(index_select, index_select_op, ("input"_a, "dim"_a, "index"_a), kMethod | kForgegrad)
FG_OP(nonzero, nonzero_op, ("input"_a, py::kw_only(), "as_tuple"_a = false), kMethod | kForgegrad)
FG_OP(argwhere, &ops::nonzero, ("input"_a), kMethod | kForgegrad)
FG_OP(where, where_op, ("condition"_a, "input"_a = py::none(), "other"_a = py::none()), kForgegrad)
FG_OP(masked_fill, masked_fill_op, ("input"_a, "mask"_a, "value"_a), kMethod | kForgegrad | kInPlace)
FG_OP(masked_select, &ops::masked_select, ("input"_a, "mask"_a), kMethod | kForgegrad)
FG_OP(index_put, index_put_op, ("input"_a, "indices"_a, "values"_a, "accumulate"_a = false),
      kMethod | kForgegrad)
FG_OP(index_put_, index_put__op, ("input"_a, "indices"_a, "values"_a, "accumulate"_a = false),
      kMethod)

// ---- gather and scatter along a dimension
FG_OP(gather, &ops::gather, ("input"_a, "dim"_a, "index"_a), kMethod | kForgegrad)
FG_OP(take_along_dim, &ops::take_along_dim, ("input"_a, "indices"_a, "dim"_a = py::none()),
      kMethod | kForgegrad)
FG_OP(scatter, scatter_op,
      ("input"_a, "dim"_a, "index"_a, "src"_a = py::none(), py::kw_only(), "value"_a = py::none()),
      kMethod | kForgegrad | kInPlace)
FG_OP(scatter_add, &ops::scatter_add, ("input"_a, "dim"_a, "index"_a, "src"_a),
      kMethod | kForgegrad | kInPlace)
FG_OP(scatter_reduce, &ops::scatter_reduce,
      ("input"_a, "dim"_a, "index"_a, "src"_a, "reduce"_a, py::kw_only(), "include_self"_a = true),
      kMethod | kForgegrad | kInPlace)

// ---- matmul, linear, the raw GEMM
FG_OP(matmul, &ops::matmul, ("input"_a, "other"_a), kMethod | kForgegrad)
FG_OP(mm, &ops::mm, ("input"_a, "mat2"_a), kMethod | kForgegrad)
FG_OP(bmm, &ops::bmm, ("input"_a, "mat2"_a), kMethod | kForgegrad)
FG_OP(mv, &ops::mv, ("input"_a, "vec"_a), kMethod | kForgegrad)
FG_OP(dot, &ops::dot, ("input"_a, "tensor"_a), kMethod | kForgegrad)
FG_OP(vdot, &ops::dot, ("input"_a, "other"_a), kMethod | kForgegrad)  // real dtypes: dot
FG_OP(outer, &ops::outer, ("input"_a, "vec2"_a), kMethod | kForgegrad)
FG_OP(ger, &ops::outer, ("input"_a, "vec2"_a), kMethod | kForgegrad)  // outer's old name
FG_OP(inner, &ops::inner, ("input"_a, "other"_a), kMethod | kForgegrad)
FG_OP(addmm, &ops::addmm,
      ("input"_a, "mat1"_a, "mat2"_a, py::kw_only(), "beta"_a = 1.0, "alpha"_a = 1.0),
      kMethod | kForgegrad)
FG_OP(baddbmm, &ops::baddbmm,
      ("input"_a, "batch1"_a, "batch2"_a, py::kw_only(), "beta"_a = 1.0, "alpha"_a = 1.0),
      kMethod | kForgegrad)
FG_OP(addmv, &ops::addmv,
      ("input"_a, "mat"_a, "vec"_a, py::kw_only(), "beta"_a = 1.0, "alpha"_a = 1.0),
      kMethod | kForgegrad)
// activation=None | "relu": forgegrad's extension, the ReLU fused into the GEMM.
FG_OP(linear, linear_op,
      ("input"_a, "weight"_a, "bias"_a = py::none(), py::kw_only(), "activation"_a = py::none()),
      kFunctional)
FG_OP(gemm, gemm_op,
      ("a"_a, "b"_a, "bias"_a = py::none(), "trans_a"_a = false, "trans_b"_a = false,
       "out"_a = py::none(), "relu"_a = false),
      0)

// ---- activations
FG_OP(relu, relu_op, ("input"_a, "inplace"_a = false), kMethod | kForgegrad | kFunctional | kInPlace)
FG_OP(leaky_relu, &ops::leaky_relu, ("input"_a, "negative_slope"_a = 0.01), kFunctional)
FG_OP(gelu, &ops::gelu, ("input"_a, "approximate"_a = "none"), kFunctional)
FG_OP(tanh, &ops::tanh, ("input"_a), kMethod | kForgegrad | kFunctional | kInPlace)
FG_OP(sigmoid, &ops::sigmoid, ("input"_a), kMethod | kForgegrad | kFunctional | kInPlace)
FG_OP(silu, &ops::silu, ("input"_a), kFunctional)
FG_OP(softmax, softmax_op, ("input"_a, "dim"_a = -1, py::kw_only(), "dtype"_a = py::none()),
      kMethod | kForgegrad | kFunctional)
FG_OP(log_softmax, log_softmax_op,
      ("input"_a, "dim"_a = -1, py::kw_only(), "dtype"_a = py::none()),
      kMethod | kForgegrad | kFunctional)
FG_OP(softplus, softplus_op, ("input"_a, "beta"_a = 1.0, "threshold"_a = 20.0), kFunctional)
FG_OP(elu, elu_op, ("input"_a, "alpha"_a = 1.0, "inplace"_a = false), kFunctional)
FG_OP(selu, selu_op, ("input"_a, "inplace"_a = false), kForgegrad | kFunctional)
FG_OP(celu, celu_op, ("input"_a, "alpha"_a = 1.0, "inplace"_a = false), kForgegrad | kFunctional)
FG_OP(mish, mish_op, ("input"_a, "inplace"_a = false), kFunctional)
FG_OP(hardtanh, hardtanh_op,
      ("input"_a, "min_val"_a = -1.0, "max_val"_a = 1.0, "inplace"_a = false), kFunctional)
FG_OP(relu6, relu6_op, ("input"_a, "inplace"_a = false), kFunctional)
FG_OP(hardsigmoid, hardsigmoid_op, ("input"_a, "inplace"_a = false), kFunctional)
FG_OP(hardswish, hardswish_op, ("input"_a, "inplace"_a = false), kFunctional)
FG_OP(logsigmoid, logsigmoid_op, ("input"_a), kFunctional)
FG_OP(softsign, softsign_op, ("input"_a), kFunctional)
FG_OP(tanhshrink, tanhshrink_op, ("input"_a), kFunctional)
FG_OP(threshold, threshold_op, ("input"_a, "threshold"_a, "value"_a, "inplace"_a = false),
      kForgegrad | kFunctional)
FG_OP(softshrink, softshrink_op, ("input"_a, "lambd"_a = 0.5), kFunctional)
FG_OP(hardshrink, hardshrink_op, ("input"_a, "lambd"_a = 0.5), kMethod | kForgegrad | kFunctional)
FG_OP(prelu, &ops::prelu, ("input"_a, "weight"_a), kForgegrad | kFunctional)
FG_OP(glu, &ops::glu, ("input"_a, "dim"_a = -1), kFunctional)
FG_OP(dropout, &ops::dropout, ("input"_a, "p"_a = 0.5, "training"_a = true), kFunctional)

// ---- losses
// weight is PyTorch's third argument; what follows it there (size_average, reduce: long
// deprecated) forgegrad leaves out, so the rest are keyword-only, here and below.
FG_OP(cross_entropy, cross_entropy_op,
      ("input"_a, "target"_a, "weight"_a = py::none(), py::kw_only(), "ignore_index"_a = -100,
       "reduction"_a = "mean", "label_smoothing"_a = 0.0),
      kFunctional)
FG_OP(nll_loss, nll_loss_op,
      ("input"_a, "target"_a, "weight"_a = py::none(), py::kw_only(), "ignore_index"_a = -100,
       "reduction"_a = "mean"),
      kFunctional)
FG_OP(mse_loss, mse_loss_op, ("input"_a, "target"_a, "reduction"_a = "mean"), kFunctional)
FG_OP(l1_loss, l1_loss_op, ("input"_a, "target"_a, "reduction"_a = "mean"), kFunctional)
FG_OP(ctc_loss, ctc_loss_op,
      ("log_probs"_a, "targets"_a, "input_lengths"_a, "target_lengths"_a, "blank"_a = 0,
       "reduction"_a = "mean", "zero_infinity"_a = false),
      kFunctional)
FG_OP(binary_cross_entropy, binary_cross_entropy_op,
      ("input"_a, "target"_a, "weight"_a = py::none(), py::kw_only(), "reduction"_a = "mean"),
      kFunctional)
FG_OP(binary_cross_entropy_with_logits, bce_with_logits_op,
      ("input"_a, "target"_a, "weight"_a = py::none(), py::kw_only(), "reduction"_a = "mean",
       "pos_weight"_a = py::none()),
      kFunctional)

// ---- fused optimizer steps (the Python optimizers check hyperparameters before calling)
FG_OP(_sgd_step, sgd_step_op,
      ("params"_a, "grads"_a, "momentum_buffers"_a, "lr"_a, "momentum"_a, "dampening"_a,
       "weight_decay"_a, "nesterov"_a, "maximize"_a),
      0)
FG_OP(_adam_step, adam_step_op,
      ("params"_a, "grads"_a, "exp_avgs"_a, "exp_avg_sqs"_a, "max_exp_avg_sqs"_a, "steps"_a,
       "lr"_a, "beta1"_a, "beta2"_a, "eps"_a, "weight_decay"_a, "amsgrad"_a, "maximize"_a,
       "decoupled_weight_decay"_a),
      0)
FG_OP(_rmsprop_step, rmsprop_step_op,
      ("params"_a, "grads"_a, "square_avgs"_a, "momentum_buffers"_a, "grad_avgs"_a, "lr"_a,
       "alpha"_a, "eps"_a, "weight_decay"_a, "momentum"_a, "centered"_a, "maximize"_a),
      0)
FG_OP(_adagrad_step, adagrad_step_op,
      ("params"_a, "grads"_a, "sums"_a, "steps"_a, "lr"_a, "lr_decay"_a, "weight_decay"_a,
       "eps"_a, "maximize"_a),
      0)
FG_OP(_adadelta_step, adadelta_step_op,
      ("params"_a, "grads"_a, "square_avgs"_a, "acc_deltas"_a, "lr"_a, "rho"_a, "eps"_a,
       "weight_decay"_a, "maximize"_a),
      0)
FG_OP(_adamax_step, adamax_step_op,
      ("params"_a, "grads"_a, "exp_avgs"_a, "exp_infs"_a, "steps"_a, "lr"_a, "beta1"_a,
       "beta2"_a, "eps"_a, "weight_decay"_a, "maximize"_a),
      0)
FG_OP(_nadam_step, nadam_step_op,
      ("params"_a, "grads"_a, "exp_avgs"_a, "exp_avg_sqs"_a, "steps"_a, "mu_products"_a, "lr"_a,
       "beta1"_a, "beta2"_a, "eps"_a, "weight_decay"_a, "momentum_decay"_a, "maximize"_a,
       "decoupled_weight_decay"_a),
      0)
FG_OP(_radam_step, radam_step_op,
      ("params"_a, "grads"_a, "exp_avgs"_a, "exp_avg_sqs"_a, "steps"_a, "lr"_a, "beta1"_a,
       "beta2"_a, "eps"_a, "weight_decay"_a, "maximize"_a, "decoupled_weight_decay"_a),
      0)
FG_OP(_im2col, &ops::im2col,
      ("input"_a, "kernel_size"_a, "dilation"_a, "padding"_a, "stride"_a), 0)
FG_OP(_col2im, &ops::col2im,
      ("input"_a, "output_size"_a, "kernel_size"_a, "dilation"_a, "padding"_a, "stride"_a), 0)

// ---- pooling over (N, C, H, W) with (h, w) sizes; nn/_pooling.py gives PyTorch's functions
FG_OP(_max_pool2d, &ops::max_pool2d,
      ("input"_a, "kernel_size"_a, "stride"_a, "padding"_a, "dilation"_a, "ceil_mode"_a, "op"_a), 0)
FG_OP(_avg_pool2d, &ops::avg_pool2d,
      ("input"_a, "kernel_size"_a, "stride"_a, "padding"_a, "ceil_mode"_a, "count_include_pad"_a,
       "divisor_override"_a, "op"_a),
      0)
FG_OP(_adaptive_avg_pool2d, &ops::adaptive_avg_pool2d, ("input"_a, "output_size"_a, "op"_a), 0)
FG_OP(_adaptive_max_pool2d, &ops::adaptive_max_pool2d, ("input"_a, "output_size"_a, "op"_a), 0)

// ---- normalization
FG_OP(layer_norm, layer_norm_op,
      ("input"_a, "normalized_shape"_a, "weight"_a = py::none(), "bias"_a = py::none(),
       "eps"_a = 1e-5),
      kFunctional)
FG_OP(rms_norm, rms_norm_op,
      ("input"_a, "normalized_shape"_a, "weight"_a = py::none(), "eps"_a = py::none()),
      kFunctional)
FG_OP(group_norm, group_norm_op,
      ("input"_a, "num_groups"_a, "weight"_a = py::none(), "bias"_a = py::none(), "eps"_a = 1e-5),
      kFunctional)
FG_OP(batch_norm, batch_norm_op,
      ("input"_a, "running_mean"_a, "running_var"_a, "weight"_a = py::none(),
       "bias"_a = py::none(), "training"_a = false, "momentum"_a = 0.1, "eps"_a = 1e-5,
       py::kw_only(), "activation"_a = py::none()),
      kFunctional)

// ---- depthwise conv2d (groups == channels); nn/_conv.py gives it F.conv2d's depthwise cases
FG_OP(_depthwise_conv2d, depthwise_conv2d_op,
      ("input"_a, "weight"_a, "bias"_a, "stride"_a, "padding"_a, "dilation"_a, "op"_a), 0)

// ---- interpolation of (N, C, H, W); nn/_interpolate.py gives F.interpolate and nn.Upsample
FG_OP(_interpolate, &ops::interpolate,
      ("input"_a, "size"_a, "scale_factor"_a, "mode"_a, "align_corners"_a, "op"_a), 0)

// ---- conv2d's fused op; nn/_conv.py gives PyTorch's F.conv1d / F.conv2d
FG_OP(_conv2d, conv2d_op,
      ("input"_a, "weight"_a, "bias"_a, "stride"_a, "padding"_a, "dilation"_a, "groups"_a), 0)

// ---- attention: one fused kernel per device (ops/attention.cpp)
FG_OP(scaled_dot_product_attention, scaled_dot_product_attention_op,
      ("query"_a, "key"_a, "value"_a, "attn_mask"_a = py::none(), "dropout_p"_a = 0.0,
       "is_causal"_a = false, "scale"_a = py::none(), "enable_gqa"_a = false),
      kFunctional)
// ---- one recurrent layer in one direction; nn/rnn.py gives RNN, LSTM, GRU and their cells
FG_OP(_rnn_layer, rnn_layer_op,
      ("input"_a, "hx"_a, "cx"_a, "w_ih"_a, "w_hh"_a, "b_ih"_a, "b_hh"_a, "w_hr"_a, "mode"_a,
       "reverse"_a, "lengths"_a),
      0)
