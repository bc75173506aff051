// Sequential math along one line, written once for both devices (csrc/line_kernels.h runs a
// functor's operator()(line) for every line: OpenMP threads on the CPU, a GPU thread a line).
// Lines of (outer, n, inner), n >= 1 (the ops handle empty lines): line l starts at
// first(l, n, inner) and steps by inner. Sums and products accumulate in
// SumAccumulator<T> (float64 for floating types, wrapping uint64 for integers).
#pragma once
#include <cstring>
#include <type_traits>

#include "elementwise_math.h"
#include "kernels.h"

namespace fg::line {

template <typename T>
FG_HOST_DEVICE bool is_nan(T v) {
  return v != v;
}
FG_HOST_DEVICE inline int64_t first(int64_t line, int64_t n, int64_t inner) {
  return (line / inner) * n * inner + line % inner;
}

// y = the running sum, product, max or min of x; indices: where each running max or min was
// found (the latest among equals, a NaN once one is met, as PyTorch), unused for Sum and Prod
template <typename T>
struct Cumulative {
  T* y;
  int64_t* indices;
  const T* x;
  Scan op;
  int64_t n, stride;
  FG_HOST_DEVICE void operator()(int64_t line) const {
    int64_t start = first(line, n, stride);
    using Acc = SumAccumulator<T>;
    Acc acc = op == Scan::Prod ? Acc(1) : Acc(0);
    T best = T(0);
    int64_t best_k = 0;
    for (int64_t k = 0; k < n; ++k) {
      int64_t at = start + k * stride;
      T v = x[at];
      if (op == Scan::Sum || op == Scan::Prod) {
        acc = op == Scan::Sum ? acc + static_cast<Acc>(v) : acc * static_cast<Acc>(v);
        y[at] = static_cast<T>(acc);
        continue;
      }
      bool wins =
          k == 0 || is_nan(v) || (!is_nan(best) && (op == Scan::Max ? v >= best : v <= best));
      if (wins) best = v, best_k = k;
      y[at] = best;
      indices[at] = best_k;
    }
  }
};

// The gradient of a cumulative product: dx_i = sum_{j >= i} dy_j prod_{k <= j, k != i} x_k,
// exact where x holds zeros. Before the first zero z it is sum_{j >= i} dy_j y_j / x_i; at z
// the products of the others run on past it; after z every product holds x_z = 0.
template <typename T>
struct CumprodBackward {
  T* dx;
  const T* dy;
  const T* x;
  const T* y;
  int64_t n, stride;
  FG_HOST_DEVICE void operator()(int64_t line) const {
    int64_t start = first(line, n, stride), zero = n;
    for (int64_t k = 0; k < n && zero == n; ++k)
      if (x[start + k * stride] == T(0)) zero = k;
    double suffix = 0;  // sum over j >= i of dy_j y_j
    for (int64_t k = n - 1; k >= 0; --k) {
      int64_t at = start + k * stride;
      suffix += static_cast<double>(dy[at]) * static_cast<double>(y[at]);
      dx[at] = k < zero ? static_cast<T>(suffix / static_cast<double>(x[at])) : T(0);
    }
    if (zero == n) return;
    double before = zero > 0 ? static_cast<double>(y[start + (zero - 1) * stride]) : 1.0;
    double product = before, total = 0;
    for (int64_t j = zero; j < n; ++j) {
      if (j > zero) product *= static_cast<double>(x[start + j * stride]);
      total += static_cast<double>(dy[start + j * stride]) * product;
    }
    dx[start + zero * stride] = static_cast<T>(total);
  }
};

// y = the product of the line (one output per line, at y[line])
template <typename Out, typename T>
struct Product {
  Out* y;
  const T* x;
  int64_t n, inner;
  FG_HOST_DEVICE void operator()(int64_t line) const {
    int64_t start = first(line, n, inner);
    SumAccumulator<T> acc = 1;
    for (int64_t k = 0; k < n; ++k)
      acc = acc * static_cast<SumAccumulator<T>>(x[start + k * inner]);
    y[line] = static_cast<Out>(acc);
  }
};

// The gradient of a product: dx_i = dy prod_{k != i} x_k: dy y / x_i without zeros; with
// one zero, only it gets the product of the others; with two, nothing.
template <typename T>
struct ProductBackward {
  T* dx;
  const T* dy;  // one per line
  const T* x;
  int64_t n, inner;
  FG_HOST_DEVICE void operator()(int64_t line) const {
    int64_t start = first(line, n, inner);
    T dout = dy[line];
    int64_t zeros = 0, zero_at = -1;
    double others = 1;  // the product of the nonzero elements
    for (int64_t k = 0; k < n; ++k) {
      T v = x[start + k * inner];
      if (v == T(0))
        ++zeros, zero_at = k;
      else
        others *= static_cast<double>(v);
    }
    for (int64_t k = 0; k < n; ++k) {
      T v = x[start + k * inner];
      double g = zeros == 0                   ? others / static_cast<double>(v)
                 : zeros == 1 && k == zero_at ? others
                                              : 0.0;
      dx[start + k * inner] = static_cast<T>(static_cast<double>(dout) * g);
    }
  }
};

// ---- sorting a line: stable, NaN counted the largest value (first when descending) ----

// a strictly before b in the order sort_forward produces
template <typename T>
FG_HOST_DEVICE bool sorts_before(T a, T b, bool descending) {
  if (descending) return is_nan(a) ? !is_nan(b) : !is_nan(b) && a > b;
  return is_nan(b) ? !is_nan(a) : !is_nan(a) && a < b;
}

// An unsigned integer whose order is sorts_before's: floats by their bits with the sign
// flipped (negatives: all bits), -0 as +0, every NaN the largest; signed integers with the
// sign bit flipped; all bits inverted when descending. Equal values get equal keys.
template <typename T>
FG_HOST_DEVICE auto radix_key(T v, bool descending) {
  using Bits = std::conditional_t<
      sizeof(T) == 1, uint8_t,
      std::conditional_t<sizeof(T) == 2, uint16_t,
                         std::conditional_t<sizeof(T) == 4, uint32_t, uint64_t>>>;
  constexpr Bits sign = Bits(Bits(1) << (8 * sizeof(T) - 1));
  Bits key;
  if constexpr (std::is_floating_point_v<T>) {
    if (is_nan(v)) {
      key = Bits(~Bits(0));
    } else {
      if (v == T(0)) v = T(0);
      memcpy(&key, &v, sizeof key);
      key = (key & sign) ? Bits(~key) : Bits(key | sign);
    }
  } else if constexpr (std::is_signed_v<T>) {
    key = Bits(Bits(v) ^ sign);
  } else {
    key = Bits(v);
  }
  return descending ? Bits(~key) : key;
}

// values, indices = the line of x in sorted order and where each came from, stable, with no
// allocation (so one thread can sort its line on a GPU too): spare_values and spare_indices,
// laid out as x, are the other buffer of each pass. Lines of kRadixMin and more: a
// least-significant-digit radix sort of radix_key, a byte a pass (passes where every key
// shares the byte are skipped); shorter ones: insertion sorts of kRun, then merges.
template <typename T>
struct SortLine {
  static constexpr int64_t kRun = 16, kRadixMin = 64;
  T* values;
  int64_t* indices;
  T* spare_values;
  int64_t* spare_indices;
  const T* x;
  bool descending;
  int64_t n, stride;

  // the buffers of one line, swapped after each pass; the result ends in values
  struct Buffers {
    T *from_v, *to_v;
    int64_t *from_i, *to_i;
    FG_HOST_DEVICE void swap() {
      T* v = from_v;
      from_v = to_v, to_v = v;
      int64_t* i = from_i;
      from_i = to_i, to_i = i;
    }
  };

  FG_HOST_DEVICE void radix_passes(Buffers& b) const {
    for (int shift = 0; shift < int(8 * sizeof(T)); shift += 8) {
      int64_t count[256] = {};
      for (int64_t k = 0; k < n; ++k)
        ++count[(radix_key(b.from_v[k * stride], descending) >> shift) & 255];
      bool one_digit = false;
      for (int d = 0; d < 256; ++d) one_digit = one_digit || count[d] == n;
      if (one_digit) continue;
      for (int64_t d = 0, total = 0; d < 256; ++d) {
        int64_t c = count[d];
        count[d] = total, total += c;
      }
      for (int64_t k = 0; k < n; ++k) {
        int64_t to = count[(radix_key(b.from_v[k * stride], descending) >> shift) & 255]++;
        b.to_v[to * stride] = b.from_v[k * stride], b.to_i[to * stride] = b.from_i[k * stride];
      }
      b.swap();
    }
  }

  FG_HOST_DEVICE void merge_passes(Buffers& b) const {
    T* v = b.from_v;
    int64_t* i = b.from_i;
    for (int64_t k = 0; k < n; ++k) {  // insertion into the run of kRun that k belongs to
      T value = v[k * stride];
      int64_t index = i[k * stride], j = k;
      for (; j % kRun != 0 && sorts_before(value, v[(j - 1) * stride], descending); --j)
        v[j * stride] = v[(j - 1) * stride], i[j * stride] = i[(j - 1) * stride];
      v[j * stride] = value, i[j * stride] = index;
    }
    for (int64_t width = kRun; width < n; width *= 2) {
      for (int64_t low = 0; low < n; low += 2 * width) {
        int64_t mid = low + width < n ? low + width : n;
        int64_t high = low + 2 * width < n ? low + 2 * width : n;
        int64_t a = low, c = mid;
        for (int64_t out = low; out < high;
             ++out) {  // the right run wins only when strictly before
          bool take_c = a == mid || (c < high && sorts_before(b.from_v[c * stride],
                                                              b.from_v[a * stride], descending));
          int64_t src = take_c ? c++ : a++;
          b.to_v[out * stride] = b.from_v[src * stride],
                       b.to_i[out * stride] = b.from_i[src * stride];
        }
      }
      b.swap();
    }
  }

  FG_HOST_DEVICE void operator()(int64_t line) const {
    int64_t start = first(line, n, stride);
    Buffers b{values + start, spare_values + start, indices + start, spare_indices + start};
    for (int64_t k = 0; k < n; ++k)
      b.from_v[k * stride] = x[start + k * stride], b.from_i[k * stride] = k;
    if (n >= kRadixMin)
      radix_passes(b);
    else
      merge_passes(b);
    if (b.from_v != values + start)
      for (int64_t k = 0; k < n; ++k)
        b.to_v[k * stride] = b.from_v[k * stride], b.to_i[k * stride] = b.from_i[k * stride];
  }
};

// values, indices (k along the line, k >= 1) = the first k of the line in sort_forward's
// order, found in n log k: a heap of the k best so far, the worst at its root, held in the
// outputs themselves, then sorted in place by taking the root out k times. Ties rank by
// index, so the picks are exactly the sorted line's first k.
template <typename T>
struct TopkLine {
  T* values;
  int64_t* indices;
  const T* x;
  bool largest;
  int64_t n, k, stride;
  FG_HOST_DEVICE bool ranks_before(T a, int64_t ia, T b, int64_t ib) const {
    return sorts_before(a, b, largest) || (!sorts_before(b, a, largest) && ia < ib);
  }
  FG_HOST_DEVICE void swap_slots(T* v, int64_t* idx, int64_t a, int64_t b) const {
    T tv = v[a * stride];
    int64_t ti = idx[a * stride];
    v[a * stride] = v[b * stride], idx[a * stride] = idx[b * stride];
    v[b * stride] = tv, idx[b * stride] = ti;
  }
  // the heap's element at slot i moves down below slots [0, size) until both children rank
  // before it
  FG_HOST_DEVICE void sift_down(T* v, int64_t* idx, int64_t i, int64_t size) const {
    while (true) {
      int64_t worst = i, left = 2 * i + 1, right = left + 1;
      if (left < size && ranks_before(v[worst * stride], idx[worst * stride], v[left * stride],
                                      idx[left * stride]))
        worst = left;
      if (right < size && ranks_before(v[worst * stride], idx[worst * stride], v[right * stride],
                                       idx[right * stride]))
        worst = right;
      if (worst == i) return;
      swap_slots(v, idx, i, worst);
      i = worst;
    }
  }
  FG_HOST_DEVICE void operator()(int64_t line) const {
    int64_t from = first(line, n, stride), to = first(line, k, stride);
    T* v = values + to;
    int64_t* idx = indices + to;
    for (int64_t j = 0; j < k; ++j) {  // the first k, sifted up one by one
      int64_t i = j;
      T value = x[from + j * stride];
      for (int64_t parent = (i - 1) / 2;
           i > 0 && ranks_before(v[parent * stride], idx[parent * stride], value, j);
           i = parent, parent = (i - 1) / 2)
        v[i * stride] = v[parent * stride], idx[i * stride] = idx[parent * stride];
      v[i * stride] = value, idx[i * stride] = j;
    }
    for (int64_t j = k; j < n; ++j) {
      T value = x[from + j * stride];
      if (!ranks_before(value, j, v[0], idx[0])) continue;
      v[0] = value, idx[0] = j;
      sift_down(v, idx, 0, k);
    }
    for (int64_t size = k - 1; size > 0; --size) {  // the worst to the back, k - 1 times
      swap_slots(v, idx, 0, size);
      sift_down(v, idx, 0, size);
    }
  }
};

// The most frequent value of a line sorted ascending (the smallest among equally frequent ones)
// and the index of its last occurrence, from the sorted values and their indices; NaNs never
// equal each other, so each counts once.
template <typename T>
struct ModeLine {
  T* mode;
  int64_t* mode_index;  // one each per line
  const T* sorted;
  const int64_t* sorted_indices;
  int64_t n, stride;
  FG_HOST_DEVICE void operator()(int64_t line) const {
    int64_t start = first(line, n, stride), best_count = 0, best_end = 0, run = 0;
    for (int64_t k = 0; k < n; ++k) {
      bool continues = k > 0 && sorted[start + k * stride] == sorted[start + (k - 1) * stride];
      run = continues ? run + 1 : 1;
      bool run_ends =
          k + 1 == n || !(sorted[start + (k + 1) * stride] == sorted[start + k * stride]);
      if (run_ends && run > best_count) best_count = run, best_end = k;
    }
    int64_t last = start + best_end * stride;  // a stable sort left the run's indices ascending
    mode[line] = sorted[last], mode_index[line] = sorted_indices[last];
  }
};

// ---- gather and scatter along a dimension: a line is every element of index along `dim`
// for one position in the other dimensions, so that scattered writes of a line never meet
// another line's (deterministic, no atomics). ----

constexpr int kMaxAlongDims = 8;
// index's shape and the strides (in elements) of the tensors read or written with it
struct AlongDim {
  int64_t shape[kMaxAlongDims], target_strides[kMaxAlongDims];
  int ndim, dim;
  // line l's offset in a contiguous index-shaped tensor and in the target
  FG_HOST_DEVICE void offsets(int64_t line, int64_t* own, int64_t* target) const {
    *own = 0, *target = 0;
    int64_t own_stride = 1;
    for (int d = ndim - 1; d >= 0; --d) {
      if (d == dim) {
        own_stride *= shape[d];
        continue;
      }
      int64_t coordinate = line % shape[d];
      line /= shape[d];
      *own += coordinate * own_stride;
      *target += coordinate * target_strides[d];
      own_stride *= shape[d];
    }
  }
  FG_HOST_DEVICE int64_t own_step() const {
    int64_t step = 1;
    for (int d = ndim - 1; d > dim; --d) step *= shape[d];
    return step;
  }
  // visit(at, target_at) for each element of line l: `at` in the index-shaped tensors,
  // `target_at` where its index points in the target, -1 for an index out of [0, size) (a
  // write the op's check could not see)
  template <typename Visit>
  FG_HOST_DEVICE void visit_line(int64_t line, const int64_t* index, int64_t size,
                                 const Visit& visit) const {
    int64_t own, target;
    offsets(line, &own, &target);
    int64_t step = own_step();
    for (int64_t k = 0; k < shape[dim]; ++k) {
      int64_t at = own + k * step, i = index[at];
      visit(at, i >= 0 && i < size ? target + i * target_strides[dim] : int64_t(-1));
    }
  }
};

// y (index's shape) = x at index along dim; an index out of range gives 0
template <typename T>
struct GatherLine {
  T* y;
  const T* x;
  const int64_t* index;
  AlongDim g;
  int64_t size;  // x's size along dim
  FG_HOST_DEVICE void operator()(int64_t line) const {
    g.visit_line(line, index, size,
                 [&](int64_t at, int64_t from) { y[at] = from >= 0 ? x[from] : T(0); });
  }
};

// y at index along dim (op)= src (index's shape); out-of-range indices are skipped
template <typename T>
struct ScatterLine {
  T* y;
  const T* src;
  const int64_t* index;
  AlongDim g;
  int64_t size;  // y's size along dim
  ScatterReduce op;
  FG_HOST_DEVICE void operator()(int64_t line) const {
    g.visit_line(line, index, size, [&](int64_t at, int64_t to) {
      if (to < 0) return;
      T& out = y[to];
      T v = src[at];
      switch (op) {
        case ScatterReduce::Assign: out = v; break;
        case ScatterReduce::Add: out = math::Add<T>{}(out, v); break;
        case ScatterReduce::Multiply: out = math::Mul<T>{}(out, v); break;
        case ScatterReduce::Amax: out = math::Maximum<T>{}(out, v); break;
        case ScatterReduce::Amin: out = math::Minimum<T>{}(out, v); break;
      }
    });
  }
};

}  // namespace fg::line
