// kernelevolve:template
// param VECTOR_BYTES: 64, 32
// param ACCUMULATORS: 2, 1, 4
// param BLOCK: 4096, 1024, 16384
// Fused binary cross-entropy on logits with mean reduction, in one pass over logits and labels
// (the reference builds several full-size temporaries). Each term is the stable
// max(z, 0) - z * t + log1p(exp(-|z|)); log1p(u) = 2 atanh(u / (2 + u)) as an odd series, exact in
// relative terms for u in (0, 1]. Blocks of BLOCK elements are summed in float SIMD lanes, then
// in double across blocks and threads, so the long reduction stays accurate.
#include <cstdint>
#include <cstring>

namespace {
constexpr int kLanes = {{VECTOR_BYTES}} / 4;
constexpr int kAccumulators = {{ACCUMULATORS}};
typedef float Vector __attribute__((vector_size({{VECTOR_BYTES}})));
typedef int32_t IntVector __attribute__((vector_size({{VECTOR_BYTES}})));

inline Vector load(const float* source) {
  Vector value;
  std::memcpy(&value, source, sizeof(Vector));
  return value;
}

inline Vector exp_nonpositive(Vector x) {
  x = x < -87.0f ? Vector{} - 87.0f : x;
  const Vector scaled = x * 1.44269504088896341f;
  const Vector rounded = __builtin_convertvector(__builtin_convertvector(scaled - 0.5f, IntVector), Vector);
  const Vector reduced = x - rounded * 0.693145751953125f - rounded * 1.428606765330187045e-06f;
  Vector polynomial = Vector{} + 1.0f / 5040.0f;
  polynomial = polynomial * reduced + 1.0f / 720.0f;
  polynomial = polynomial * reduced + 1.0f / 120.0f;
  polynomial = polynomial * reduced + 1.0f / 24.0f;
  polynomial = polynomial * reduced + 1.0f / 6.0f;
  polynomial = polynomial * reduced + 0.5f;
  polynomial = polynomial * reduced + 1.0f;
  polynomial = polynomial * reduced + 1.0f;
  const IntVector exponent = (__builtin_convertvector(rounded, IntVector) + 127) << 23;
  Vector power;
  std::memcpy(&power, &exponent, sizeof(Vector));
  return polynomial * power;
}

inline Vector loss_terms(Vector z, Vector t) {
  const Vector magnitude = z < 0.0f ? -z : z;
  const Vector u = exp_nonpositive(-magnitude);
  const Vector s = u / (2.0f + u);
  const Vector s2 = s * s;
  Vector series = Vector{} + 1.0f / 15.0f;
  series = series * s2 + 1.0f / 13.0f;
  series = series * s2 + 1.0f / 11.0f;
  series = series * s2 + 1.0f / 9.0f;
  series = series * s2 + 1.0f / 7.0f;
  series = series * s2 + 1.0f / 5.0f;
  series = series * s2 + 1.0f / 3.0f;
  series = series * s2 + 1.0f;
  const Vector positive = z > 0.0f ? z : Vector{};
  return positive - z * t + 2.0f * s * series;
}

double block_sum(const float* logits, const float* labels, int64_t begin, int64_t end) {
  Vector accumulators[kAccumulators];
  for (int a = 0; a < kAccumulators; ++a) accumulators[a] = Vector{};
  int64_t i = begin;
  for (; i + kLanes * kAccumulators <= end; i += kLanes * kAccumulators)
    for (int a = 0; a < kAccumulators; ++a)
      accumulators[a] += loss_terms(load(logits + i + a * kLanes), load(labels + i + a * kLanes));
  for (; i + kLanes <= end; i += kLanes) accumulators[0] += loss_terms(load(logits + i), load(labels + i));
  for (int a = 1; a < kAccumulators; ++a) accumulators[0] += accumulators[a];
  double sum = 0.0;
  for (int lane = 0; lane < kLanes; ++lane) sum += accumulators[0][lane];
  if (i < end) {
    float padded_logits[kLanes] = {}, padded_labels[kLanes] = {};
    for (int64_t j = i; j < end; ++j) {
      padded_logits[j - i] = logits[j];
      padded_labels[j - i] = labels[j];
    }
    const Vector tail = loss_terms(load(padded_logits), load(padded_labels));
    for (int64_t j = i; j < end; ++j) sum += tail[j - i];
  }
  return sum;
}
}  // namespace

extern "C" void kernel(const float* logits, const float* labels, float* loss, int64_t B, int64_t T) {
  const int64_t count = B * T;
  constexpr int64_t kBlock = {{BLOCK}};
  const int64_t blocks = (count + kBlock - 1) / kBlock;
  double total = 0.0;
#pragma omp parallel for schedule(static) reduction(+ : total) if (blocks > 1)
  for (int64_t block = 0; block < blocks; ++block) {
    const int64_t begin = block * kBlock;
    total += block_sum(logits, labels, begin, begin + kBlock < count ? begin + kBlock : count);
  }
  loss[0] = static_cast<float>(total / static_cast<double>(count));
}
