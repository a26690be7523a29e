// Naive binary cross-entropy on logits, mean reduction, in the stable form
// max(z, 0) - z * t + log(1 + exp(-|z|)), accumulated in double.
#include <cmath>
#include <cstdint>

extern "C" void kernel(const float* logits, const float* labels, float* loss, int64_t B, int64_t T) {
  const int64_t count = B * T;
  double sum = 0.0;
  for (int64_t i = 0; i < count; ++i) {
    const double z = logits[i], t = labels[i];
    sum += (z > 0.0 ? z : 0.0) - z * t + std::log1p(std::exp(-std::fabs(z)));
  }
  loss[0] = static_cast<float>(sum / static_cast<double>(count));
}
