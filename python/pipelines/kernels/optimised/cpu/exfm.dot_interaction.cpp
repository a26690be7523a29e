// Best kernel of `kernelevolve optimize exfm-dot-interaction --specs-dir <profile specs> --budget 6` (offline autotune; seeds:
// seeds/kernels/cpu/dlrm-interaction), run 20261207-224807-exfm-dot-interaction-e948, candidate c0004, 20.4x over the torch reference at the
// spec's sizes on this 2-core machine under load (docs/benchmarks.md). Swapped in for exfm.dot_interaction.
// kernelevolve:instance VECTOR_BYTES=32 ROW_BLOCK=4 SCHEDULE=dynamic SAMPLES_PER_CHUNK=8
// DLRM interaction without the full F x F product and without the gather: per sample, the features
// are transposed into an L1 buffer [D][F padded to the vector width]; then ROW_BLOCK rows i of
// Z = X X^T are accumulated as outer products (broadcast x[i][d] times the row d of the transpose),
// only over the column vectors that hold some j < i, and the strictly-lower part is written straight
// in tril order. Samples are spread over threads.
#include <cstdint>
#include <cstring>
#include <utility>
#include <vector>

namespace {
constexpr int kLanes = 32 / 4;
constexpr int kRowBlock = 4;
constexpr int kMaxVectors = 128 / kLanes;  // supports F up to 128
typedef float Vector __attribute__((vector_size(32)));

inline Vector load(const float* source) {
  Vector value;
  std::memcpy(&value, source, sizeof(Vector));
  return value;
}

template <int Vectors>
void row_block(const float* sample, const float* transposed, int64_t padded, int64_t D, int64_t first,
               int64_t rows, float* out) {
  Vector sums[kRowBlock][Vectors];
  for (int r = 0; r < kRowBlock; ++r)
    for (int v = 0; v < Vectors; ++v) sums[r][v] = Vector{};
  for (int64_t d = 0; d < D; ++d) {
    Vector columns[Vectors];
    for (int v = 0; v < Vectors; ++v) columns[v] = load(transposed + d * padded + v * kLanes);
    for (int r = 0; r < kRowBlock; ++r) {
      const float value = r < rows ? sample[(first + r) * D + d] : 0.0f;
      for (int v = 0; v < Vectors; ++v) sums[r][v] += value * columns[v];
    }
  }
  for (int r = 0; r < rows; ++r) {
    const int64_t i = first + r;
    float* target = out + i * (i - 1) / 2;
    for (int64_t j = 0; j < i; ++j) target[j] = sums[r][j / kLanes][j % kLanes];
  }
}

using RowBlockFunction = void (*)(const float*, const float*, int64_t, int64_t, int64_t, int64_t, float*);

template <int... Counts>
RowBlockFunction pick(int vectors, std::integer_sequence<int, Counts...>) {
  RowBlockFunction table[] = {&row_block<Counts + 1>...};
  return table[vectors - 1];
}
}  // namespace

extern "C" void kernel(const float* features, float* out, int64_t B, int64_t F, int64_t D) {
  const int64_t pairs = F * (F - 1) / 2;
  const int64_t padded = (F + kLanes - 1) / kLanes * kLanes;
  if (padded / kLanes > kMaxVectors) {
    // very many features: plain dot products (not the case this kernel is tuned for)
#pragma omp parallel for schedule(static)
    for (int64_t b = 0; b < B; ++b) {
      const float* sample = features + b * F * D;
      for (int64_t i = 1; i < F; ++i)
        for (int64_t j = 0; j < i; ++j) {
          float sum = 0.0f;
          for (int64_t d = 0; d < D; ++d) sum += sample[i * D + d] * sample[j * D + d];
          out[b * pairs + i * (i - 1) / 2 + j] = sum;
        }
    }
    return;
  }
#pragma omp parallel if (B * F * D >= 16384)
  {
    std::vector<float> transposed(static_cast<size_t>(padded * D) + kLanes, 0.0f);
#pragma omp for schedule(dynamic, 8)
    for (int64_t b = 0; b < B; ++b) {
      const float* sample = features + b * F * D;
      for (int64_t f = 0; f < F; ++f)
        for (int64_t d = 0; d < D; ++d) transposed[d * padded + f] = sample[f * D + d];
      for (int64_t first = 1; first < F; first += kRowBlock) {
        const int64_t rows = F - first < kRowBlock ? F - first : kRowBlock;
        const int64_t last = first + rows - 1;  // largest i in the block: needs columns j < last
        const int vectors = static_cast<int>((last + kLanes - 1) / kLanes);
        pick(vectors, std::make_integer_sequence<int, kMaxVectors>{})(sample, transposed.data(), padded, D, first,
                                                                      rows, out + b * pairs);
      }
    }
  }
}
