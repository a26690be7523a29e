// Naive layer norm: two passes per row (mean, then variance), biased variance as PyTorch uses.
#include <cmath>
#include <cstdint>

extern "C" void kernel(const float* x, const float* weight, const float* bias, float* y,
                       int64_t R, int64_t D, double eps) {
  for (int64_t r = 0; r < R; ++r) {
    const float* row = x + r * D;
    double mean = 0.0;
    for (int64_t d = 0; d < D; ++d) mean += row[d];
    mean /= static_cast<double>(D);
    double variance = 0.0;
    for (int64_t d = 0; d < D; ++d) variance += (row[d] - mean) * (row[d] - mean);
    variance /= static_cast<double>(D);
    const double inverse = 1.0 / std::sqrt(variance + eps);
    for (int64_t d = 0; d < D; ++d)
      y[r * D + d] = static_cast<float>((row[d] - mean) * inverse) * weight[d] + bias[d];
  }
}
