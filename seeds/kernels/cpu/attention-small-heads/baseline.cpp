// Naive attention: for every query row, scores against all keys, softmax, weighted sum of values.
#include <cmath>
#include <cstdint>
#include <vector>

extern "C" void kernel(const float* q, const float* k, const float* v, float* out,
                       int64_t B, int64_t H, int64_t S, int64_t E) {
  const float scale = 1.0f / std::sqrt(static_cast<float>(E));
  std::vector<float> scores(S);
  for (int64_t bh = 0; bh < B * H; ++bh) {
    const float* qh = q + bh * S * E;
    const float* kh = k + bh * S * E;
    const float* vh = v + bh * S * E;
    float* oh = out + bh * S * E;
    for (int64_t i = 0; i < S; ++i) {
      float maximum = -INFINITY;
      for (int64_t j = 0; j < S; ++j) {
        float dot = 0.0f;
        for (int64_t e = 0; e < E; ++e) dot += qh[i * E + e] * kh[j * E + e];
        scores[j] = dot * scale;
        if (scores[j] > maximum) maximum = scores[j];
      }
      float sum = 0.0f;
      for (int64_t j = 0; j < S; ++j) {
        scores[j] = std::exp(scores[j] - maximum);
        sum += scores[j];
      }
      for (int64_t e = 0; e < E; ++e) {
        float accumulator = 0.0f;
        for (int64_t j = 0; j < S; ++j) accumulator += scores[j] * vh[j * E + e];
        oh[i * E + e] = accumulator / sum;
      }
    }
  }
}
