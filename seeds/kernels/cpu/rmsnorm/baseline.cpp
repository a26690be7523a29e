// Naive RMS norm: mean of squares per row, then scale by its reciprocal square root and the weight.
#include <cmath>
#include <cstdint>

extern "C" void kernel(const float* x, const float* weight, float* y, int64_t R, int64_t D, double eps) {
  for (int64_t r = 0; r < R; ++r) {
    const float* row = x + r * D;
    double squares = 0.0;
    for (int64_t d = 0; d < D; ++d) squares += static_cast<double>(row[d]) * row[d];
    const float inverse = static_cast<float>(1.0 / std::sqrt(squares / static_cast<double>(D) + eps));
    for (int64_t d = 0; d < D; ++d) y[r * D + d] = row[d] * inverse * weight[d];
  }
}
