// Inference with an MLP trained in Python, from C++ without Python: loads the state dict that
// fg.save(model.state_dict(), "mlp.safetensors") wrote for an nn.Sequential of Linear layers
// with ReLU between them, and the inputs (a safetensors file with one (N, features) float32
// tensor "x"), runs the model and prints each row's logits and predicted class.
//   mlp_inference mlp.safetensors inputs.safetensors
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include <forgegrad/forgegrad.h>

// The Linear layers of the state dict in order: "<i>.weight" (out, in) and "<i>.bias" (out).
static std::vector<std::pair<fg::Tensor, fg::Tensor>> linear_layers(
    const std::map<std::string, fg::Tensor>& state) {
  std::map<int, std::pair<fg::Tensor, fg::Tensor>> by_index;
  for (const auto& [name, tensor] : state) {
    size_t dot = name.find('.');
    int index = std::stoi(name.substr(0, dot));
    if (name.substr(dot + 1) == "weight") by_index[index].first = tensor;
    if (name.substr(dot + 1) == "bias") by_index[index].second = tensor;
  }
  std::vector<std::pair<fg::Tensor, fg::Tensor>> layers;
  for (auto& [index, layer] : by_index) layers.push_back(layer);
  return layers;
}

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s MODEL.safetensors INPUTS.safetensors\n", argv[0]);
    return 2;
  }
  try {
    auto layers = linear_layers(fg::load_safetensors(argv[1]));
    fg::Tensor x = fg::load_safetensors(argv[2]).at("x");
    fg::NoGradGuard no_grad;  // inference: no graph is recorded
    for (size_t i = 0; i < layers.size(); ++i) {
      x = fg::ops::linear(x, layers[i].first, layers[i].second);
      if (i + 1 < layers.size()) x = fg::ops::relu(x);
    }
    fg::Tensor predicted = fg::ops::argmax(x, 1, false);
    x = fg::ops::contiguous(x);
    const float* logits = x.data<float>();
    const int64_t* classes = predicted.data<int64_t>();
    for (int64_t n = 0; n < x.size(0); ++n) {
      std::printf("%lld", static_cast<long long>(classes[n]));
      for (int64_t k = 0; k < x.size(1); ++k) std::printf(" %.9g", logits[n * x.size(1) + k]);
      std::printf("\n");
    }
  } catch (const std::exception& error) {  // fg::ValueError and friends: "[op] message"
    std::fprintf(stderr, "error: %s\n", error.what());
    return 1;
  }
  return 0;
}
