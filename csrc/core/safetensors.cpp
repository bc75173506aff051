// A safetensors file: 8 bytes (little-endian u64) giving the header's length, the header (a
// JSON object: name -> {"dtype", "shape", "data_offsets": [begin, end]}, and an optional
// "__metadata__" of strings), then the tensors' bytes, row-major and little-endian, at offsets
// counted from the end of the header.
#include "core/safetensors.h"

#include <cstring>
#include <fstream>
#include <utility>
#include <vector>

#include "core/error.h"

namespace fg {
namespace {

// safetensors itself refuses headers over 100 MB.
constexpr uint64_t kMaxHeaderBytes = 100u << 20;
constexpr int kMaxJsonDepth = 32;

// The part of JSON a header uses: objects, arrays, strings, non-negative integers; anything
// else (null, true, false, other numbers) only as a value that nobody reads.
struct Json {
  enum class Kind { Object, Array, String, Integer, Other } kind = Kind::Other;
  std::vector<std::pair<std::string, Json>> members;  // Object, in the file's order
  std::vector<Json> items;                            // Array
  std::string text;                                   // String
  int64_t integer = 0;                                // Integer
};

class JsonParser {
 public:
  JsonParser(const std::string& text, const std::string& file) : text_(text), file_(file) {}

  Json document() {
    Json value = parse(0);
    skip_space();
    if (pos_ != text_.size()) fail("text after the header's JSON object");
    return value;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw ValueError("[load_safetensors] " + file_ + ": the header is not valid JSON (" + what +
                     " at byte " + std::to_string(pos_) + ")");
  }
  void skip_space() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\n' ||
                                   text_[pos_] == '\r' || text_[pos_] == '\t'))
      ++pos_;
  }
  char peek() {
    skip_space();
    if (pos_ >= text_.size()) fail("unexpected end");
    return text_[pos_];
  }
  void expect(char c) {
    if (peek() != c) fail(std::string("expected '") + c + "'");
    ++pos_;
  }

  Json parse(int depth) {
    if (depth > kMaxJsonDepth) fail("nesting deeper than " + std::to_string(kMaxJsonDepth));
    char c = peek();
    if (c == '{') return parse_object(depth);
    if (c == '[') return parse_array(depth);
    Json value;
    if (c == '"') {
      value.kind = Json::Kind::String;
      value.text = parse_string();
    } else if (c >= '0' && c <= '9') {
      value.kind = Json::Kind::Integer;
      while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') {
        int digit = text_[pos_++] - '0';
        if (value.integer > (INT64_MAX - digit) / 10) fail("an integer too large");
        value.integer = value.integer * 10 + digit;
      }
      if (pos_ < text_.size() && text_[pos_] != '\0' && std::strchr(".eE", text_[pos_])) {
        skip_number();  // a fraction: no field read here holds one
        value.kind = Json::Kind::Other;
      }
    } else if (c == '-') {
      skip_number();
    } else {
      for (const char* word : {"null", "true", "false"})
        if (text_.compare(pos_, std::strlen(word), word) == 0) {
          pos_ += std::strlen(word);
          return value;
        }
      fail("unexpected character");
    }
    return value;
  }
  void skip_number() {
    while (pos_ < text_.size() && text_[pos_] != '\0' &&
           std::strchr("+-.eE0123456789", text_[pos_]) != nullptr)
      ++pos_;
  }
  Json parse_object(int depth) {
    Json value;
    value.kind = Json::Kind::Object;
    expect('{');
    if (peek() == '}') return ++pos_, value;
    for (;;) {
      if (peek() != '"') fail("expected a string key");
      std::string key = parse_string();
      expect(':');
      value.members.emplace_back(std::move(key), parse(depth + 1));
      if (peek() == '}') return ++pos_, value;
      expect(',');
    }
  }
  Json parse_array(int depth) {
    Json value;
    value.kind = Json::Kind::Array;
    expect('[');
    if (peek() == ']') return ++pos_, value;
    for (;;) {
      value.items.push_back(parse(depth + 1));
      if (peek() == ']') return ++pos_, value;
      expect(',');
    }
  }
  // A string's characters; \uXXXX escapes become UTF-8 (surrogate pairs joined).
  std::string parse_string() {
    expect('"');
    std::string out;
    for (;;) {
      if (pos_ >= text_.size()) fail("an unterminated string");
      char c = text_[pos_++];
      if (c == '"') return out;
      if (static_cast<unsigned char>(c) < 0x20) fail("a control character in a string");
      if (c != '\\') {
        out += c;
        continue;
      }
      if (pos_ >= text_.size()) fail("an unterminated string");
      char e = text_[pos_++];
      switch (e) {
        case '"':
        case '\\':
        case '/': out += e; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': append_utf8(out, parse_code_point()); break;
        default: fail("an unknown escape");
      }
    }
  }
  uint32_t parse_hex4() {
    if (pos_ + 4 > text_.size()) fail("a short \\u escape");
    uint32_t code = 0;
    for (int i = 0; i < 4; ++i) {
      char h = text_[pos_++];
      int digit = h >= '0' && h <= '9'   ? h - '0'
                  : h >= 'a' && h <= 'f' ? h - 'a' + 10
                  : h >= 'A' && h <= 'F' ? h - 'A' + 10
                                         : -1;
      if (digit < 0) fail("a bad \\u escape");
      code = code * 16 + static_cast<uint32_t>(digit);
    }
    return code;
  }
  uint32_t parse_code_point() {
    uint32_t code = parse_hex4();
    if (code >= 0xD800 && code < 0xDC00 && text_.compare(pos_, 2, "\\u") == 0) {
      pos_ += 2;
      uint32_t low = parse_hex4();
      if (low < 0xDC00 || low >= 0xE000) fail("an unpaired surrogate");
      code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
    }
    return code;
  }
  static void append_utf8(std::string& out, uint32_t code) {
    if (code < 0x80) {
      out += static_cast<char>(code);
    } else if (code < 0x800) {
      out += static_cast<char>(0xC0 | (code >> 6));
      out += static_cast<char>(0x80 | (code & 0x3F));
    } else if (code < 0x10000) {
      out += static_cast<char>(0xE0 | (code >> 12));
      out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (code & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (code >> 18));
      out += static_cast<char>(0x80 | ((code >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (code & 0x3F));
    }
  }

  const std::string& text_;
  const std::string& file_;
  size_t pos_ = 0;
};

DType parse_dtype(const std::string& name, const std::string& what) {
  static const std::pair<const char*, DType> dtypes[] = {
      {"F64", DType::Float64},   {"F32", DType::Float32}, {"F16", DType::Float16},
      {"BF16", DType::BFloat16}, {"I64", DType::Int64},   {"I32", DType::Int32},
      {"I16", DType::Int16},     {"I8", DType::Int8},     {"U8", DType::UInt8},
      {"BOOL", DType::Bool}};
  for (const auto& [text, dtype] : dtypes)
    if (name == text) return dtype;
  throw ValueError("[load_safetensors] " + what + " has dtype " + name +
                   ", expected one of F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL");
}

const Json& member(const Json& object, const char* key, Json::Kind kind, const std::string& what) {
  for (const auto& [name, value] : object.members)
    if (name == key) {
      if (value.kind != kind) break;
      return value;
    }
  throw ValueError("[load_safetensors] " + what + " has no valid \"" + key + "\" entry");
}

std::vector<int64_t> integers(const Json& array, const std::string& what, const char* field) {
  std::vector<int64_t> out;
  for (const Json& item : array.items) {
    if (item.kind != Json::Kind::Integer)
      throw ValueError("[load_safetensors] " + what + ": \"" + field +
                       "\" must hold non-negative integers");
    out.push_back(item.integer);
  }
  return out;
}

}  // namespace

std::map<std::string, Tensor> load_safetensors(const std::string& path) {
  const std::string file = "'" + path + "'";
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) throw RuntimeError("[load_safetensors] cannot open " + file);
  const uint64_t file_size = static_cast<uint64_t>(in.tellg());
  in.seekg(0);
  unsigned char length_bytes[8];
  if (file_size < 8 || !in.read(reinterpret_cast<char*>(length_bytes), 8))
    throw ValueError("[load_safetensors] " + file + " is not a safetensors file (" +
                     std::to_string(file_size) + " bytes, shorter than its 8-byte length)");
  uint64_t header_size = 0;
  for (int i = 7; i >= 0; --i) header_size = header_size << 8 | length_bytes[i];
  if (header_size > kMaxHeaderBytes || header_size > file_size - 8)
    throw ValueError("[load_safetensors] " + file + " is not a safetensors file (its header " +
                     "length " + std::to_string(header_size) + " exceeds the file's " +
                     std::to_string(file_size) + " bytes or 100 MB)");
  std::string header(header_size, '\0');
  if (!in.read(header.data(), static_cast<std::streamsize>(header_size)))
    throw RuntimeError("[load_safetensors] cannot read the header of " + file);
  Json root = JsonParser(header, file).document();
  if (root.kind != Json::Kind::Object)
    throw ValueError("[load_safetensors] " + file + ": the header is not a JSON object");

  const uint64_t data_size = file_size - 8 - header_size;
  std::map<std::string, Tensor> tensors;
  for (const auto& [name, entry] : root.members) {
    if (name == "__metadata__") continue;
    const std::string what = "tensor '" + name + "' of " + file;
    if (entry.kind != Json::Kind::Object)
      throw ValueError("[load_safetensors] " + what + " is not described by a JSON object");
    DType dtype = parse_dtype(member(entry, "dtype", Json::Kind::String, what).text, what);
    Shape shape = integers(member(entry, "shape", Json::Kind::Array, what), what, "shape");
    std::vector<int64_t> offsets =
        integers(member(entry, "data_offsets", Json::Kind::Array, what), what, "data_offsets");
    if (offsets.size() != 2 || offsets[0] > offsets[1] ||
        static_cast<uint64_t>(offsets[1]) > data_size)
      throw ValueError("[load_safetensors] " + what + ": data_offsets must be [begin, end] " +
                       "within the " + std::to_string(data_size) + " bytes of data");
    const int64_t nbytes =
        shape_numel(shape, "load_safetensors") * static_cast<int64_t>(dtype_size(dtype));
    if (offsets[1] - offsets[0] != nbytes)
      throw ValueError("[load_safetensors] " + what + ": " + std::to_string(nbytes) +
                       " bytes expected for its shape and dtype, data_offsets give " +
                       std::to_string(offsets[1] - offsets[0]));
    if (!tensors.emplace(name, Tensor()).second)
      throw ValueError("[load_safetensors] " + what + " is named twice");
    Tensor tensor = Tensor::empty(shape, dtype, Device{});
    in.seekg(static_cast<std::streamoff>(8 + header_size + offsets[0]));
    if (nbytes > 0 && !in.read(static_cast<char*>(tensor.raw_data()), nbytes))
      throw RuntimeError("[load_safetensors] cannot read the data of " + what);
    if (dtype == DType::Bool) {  // any byte but 0 and 1 would be an invalid C++ bool
      const unsigned char* bytes = static_cast<const unsigned char*>(tensor.raw_data());
      for (int64_t i = 0; i < nbytes; ++i)
        if (bytes[i] > 1)
          throw ValueError("[load_safetensors] " + what + ": a BOOL byte is " +
                           std::to_string(bytes[i]) + ", expected 0 or 1");
    }
    tensors[name] = tensor;
  }
  return tensors;
}

}  // namespace fg
