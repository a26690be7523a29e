// kernelevolve:template
// param QUERY_BLOCK: 4, 2, 6
// param SCORE_VECTORS: 4, 2
// param SCHEDULE: static, dynamic
// Fused attention for short sequences: per (batch, head), K is transposed and V padded once into
// L1/L2-resident buffers; then QUERY_BLOCK query rows at a time get their score rows from register
// tiles (outer products over E), a SIMD softmax in place, and P V from register tiles again. The
// S x S score matrix never exists; only QUERY_BLOCK rows of it, in L1.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

namespace {
constexpr int kLanes = 16;
constexpr int kQueries = {{QUERY_BLOCK}};
constexpr int kScoreVectors = {{SCORE_VECTORS}};
typedef float Vector __attribute__((vector_size(64)));
typedef int32_t IntVector __attribute__((vector_size(64)));

inline Vector load(const float* source) {
  Vector value;
  std::memcpy(&value, source, sizeof(Vector));
  return value;
}
inline void store(float* target, Vector value) { std::memcpy(target, &value, sizeof(Vector)); }

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

struct Buffers {
  std::vector<float> keys;     // [E][keyStride]: K transposed, zero-padded columns
  std::vector<float> values;   // [S][valueStride]: V, zero-padded columns
  std::vector<float> scores;   // [kQueries][keyStride]
};

void head(const float* q, const float* k, const float* v, float* out, int64_t S, int64_t E, float scale,
          Buffers& buffers) {
  const int64_t keyStride = (S + kLanes * kScoreVectors - 1) / (kLanes * kScoreVectors) * (kLanes * kScoreVectors);
  const int64_t valueStride = (E + kLanes - 1) / kLanes * kLanes;
  buffers.keys.assign(static_cast<size_t>(E * keyStride), 0.0f);
  buffers.values.assign(static_cast<size_t>(S * valueStride), 0.0f);
  buffers.scores.resize(static_cast<size_t>(kQueries * keyStride));
  float* keys = buffers.keys.data();
  float* values = buffers.values.data();
  float* scores = buffers.scores.data();
  for (int64_t j = 0; j < S; ++j)
    for (int64_t e = 0; e < E; ++e) keys[e * keyStride + j] = k[j * E + e];
  for (int64_t j = 0; j < S; ++j) std::memcpy(values + j * valueStride, v + j * E, static_cast<size_t>(E) * sizeof(float));

  for (int64_t first = 0; first < S; first += kQueries) {
    const int64_t rows = S - first < kQueries ? S - first : kQueries;
    const float* queries[kQueries];
    for (int r = 0; r < kQueries; ++r) queries[r] = q + (first + (r < rows ? r : rows - 1)) * E;

    for (int64_t column = 0; column < keyStride; column += kLanes * kScoreVectors) {
      Vector sums[kQueries][kScoreVectors];
      for (int r = 0; r < kQueries; ++r)
        for (int c = 0; c < kScoreVectors; ++c) sums[r][c] = Vector{};
      for (int64_t e = 0; e < E; ++e) {
        Vector keyColumns[kScoreVectors];
        for (int c = 0; c < kScoreVectors; ++c) keyColumns[c] = load(keys + e * keyStride + column + c * kLanes);
        for (int r = 0; r < kQueries; ++r) {
          const float value = queries[r][e] * scale;
          for (int c = 0; c < kScoreVectors; ++c) sums[r][c] += value * keyColumns[c];
        }
      }
      for (int r = 0; r < kQueries; ++r)
        for (int c = 0; c < kScoreVectors; ++c) store(scores + r * keyStride + column + c * kLanes, sums[r][c]);
    }

    float inverse[kQueries];
    for (int r = 0; r < kQueries; ++r) {
      float* row = scores + r * keyStride;
      for (int64_t j = S; j < keyStride; ++j) row[j] = -INFINITY;  // padding keys get weight 0
      Vector best = load(row);
      for (int64_t j = kLanes; j < keyStride; j += kLanes) {
        const Vector value = load(row + j);
        best = value > best ? value : best;
      }
      float maximum = best[0];
      for (int lane = 1; lane < kLanes; ++lane) maximum = best[lane] > maximum ? best[lane] : maximum;
      Vector sums = Vector{};
      for (int64_t j = 0; j < keyStride; j += kLanes) {
        const Vector weights = exp_nonpositive(load(row + j) - maximum);
        store(row + j, weights);
        sums += weights;
      }
      float sum = 0.0f;
      for (int lane = 0; lane < kLanes; ++lane) sum += sums[lane];
      inverse[r] = 1.0f / sum;
    }

    for (int64_t column = 0; column < valueStride; column += kLanes) {
      Vector sums[kQueries];
      for (int r = 0; r < kQueries; ++r) sums[r] = Vector{};
      for (int64_t j = 0; j < S; ++j) {
        const Vector valueRow = load(values + j * valueStride + column);
        for (int r = 0; r < kQueries; ++r) sums[r] += scores[r * keyStride + j] * valueRow;
      }
      const int64_t count = E - column < kLanes ? E - column : kLanes;
      for (int r = 0; r < rows; ++r) {
        const Vector result = sums[r] * inverse[r];
        float* target = out + (first + r) * E + column;
        if (count == kLanes) store(target, result);
        else
          for (int64_t e = 0; e < count; ++e) target[e] = result[e];
      }
    }
  }
}
}  // namespace

extern "C" void kernel(const float* q, const float* k, const float* v, float* out,
                       int64_t B, int64_t H, int64_t S, int64_t E) {
  const float scale = 1.0f / std::sqrt(static_cast<float>(E));
  const int64_t heads = B * H;
#pragma omp parallel if (heads > 1 && S * S * E >= 16384)
  {
    Buffers buffers;
#pragma omp for schedule({{SCHEDULE}})
    for (int64_t index = 0; index < heads; ++index) {
      const int64_t offset = index * S * E;
      head(q + offset, k + offset, v + offset, out + offset, S, E, scale, buffers);
    }
  }
}
