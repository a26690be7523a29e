// kernelevolve:template
// param MR: 6, 4, 8, 12
// param NV: 2, 1, 3
// param LOOP: tile, panel
// param SCHEDULE: static, dynamic
// constraint: MR * NV <= 24
// DCNv2 cross layer as one register-blocked matrix product: an MR x (16*NV) tile of x W^T lives in
// SIMD registers across the whole K loop, and the epilogue x0 * (tile + b) + x is applied to the
// registers before the single store (the reference writes and re-reads two full-size temporaries).
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace {
struct Epilogue {
  const float* x0;
  const float* x;
  const float* bias;
  float* out;
  int64_t D;
  // count: valid columns from `column` on (fewer than 16 only in the last panel)
  void operator()(int64_t row, int64_t column, __attribute__((vector_size(64))) float sums, int64_t count) const {
    typedef float Vector __attribute__((vector_size(64)));
    const int64_t at = row * D + column;
    if (count >= 16) {
      Vector b, scale, residual;
      std::memcpy(&b, bias + column, sizeof(Vector));
      std::memcpy(&scale, x0 + at, sizeof(Vector));
      std::memcpy(&residual, x + at, sizeof(Vector));
      const Vector value = scale * (sums + b) + residual;
      std::memcpy(out + at, &value, sizeof(Vector));
    } else {
      for (int64_t c = 0; c < count; ++c) out[at + c] = x0[at + c] * (sums[c] + bias[column + c]) + x[at + c];
    }
  }
};
}  // namespace

namespace {
constexpr int kLanes = 16;
constexpr int kRows = {{MR}};
constexpr int kVectors = {{NV}};
constexpr int kPanel = kLanes * kVectors;
typedef float Vector __attribute__((vector_size(64)));

constexpr bool same(const char* left, const char* right) {
  return *left == *right && (*left == '\0' || same(left + 1, right + 1));
}

inline Vector load(const float* source) {
  Vector value;
  std::memcpy(&value, source, sizeof(Vector));
  return value;
}

// One kRows x kPanel tile of the product over the full K, kept in registers, then the epilogue.
// `a` points at kRows rows with stride lda; `packed` at one panel laid out [K][kPanel].
inline void tile(const float* a, int64_t lda, const float* packed, int64_t K, int64_t row, int64_t rows,
                 int64_t column, int64_t columns, const Epilogue& epilogue) {
  Vector sums[kRows][kVectors];
#pragma GCC unroll 16
  for (int r = 0; r < kRows; ++r)
#pragma GCC unroll 4
    for (int v = 0; v < kVectors; ++v) sums[r][v] = Vector{};
  for (int64_t k = 0; k < K; ++k) {
    Vector b[kVectors];
#pragma GCC unroll 4
    for (int v = 0; v < kVectors; ++v) b[v] = load(packed + k * kPanel + v * kLanes);
#pragma GCC unroll 16
    for (int r = 0; r < kRows; ++r) {
      const float value = a[r * lda + k];
#pragma GCC unroll 4
      for (int v = 0; v < kVectors; ++v) sums[r][v] += value * b[v];
    }
  }
  for (int r = 0; r < rows; ++r)
    for (int v = 0; v < kVectors; ++v) {
      const int64_t first = column + v * kLanes;
      if (first >= column + columns) break;
      epilogue(row + r, first, sums[r][v], column + columns - first);
    }
}

// C = A W^T (A: [M, K], W: [N, K], both row-major) with a fused epilogue. W is packed once per call
// into zero-padded column panels; rows are processed kRows at a time (a ragged last tile goes through
// a zero-padded copy); threads split the row tiles.
void product(const float* A, const float* W, int64_t M, int64_t K, int64_t N, const Epilogue& epilogue) {
  const int64_t panels = (N + kPanel - 1) / kPanel;
  const int64_t tiles = (M + kRows - 1) / kRows;
  float* packed = static_cast<float*>(std::aligned_alloc(64, ((panels * K * kPanel * 4 + 63) / 64) * 64));
  const bool parallel = M * N * K >= 65536;
#pragma omp parallel if (parallel)
  {
#pragma omp for schedule(static)
    for (int64_t p = 0; p < panels; ++p)
      for (int64_t c = 0; c < kPanel; ++c) {
        const int64_t n = p * kPanel + c;
        float* target = packed + p * K * kPanel + c;
        if (n < N)
          for (int64_t k = 0; k < K; ++k) target[k * kPanel] = W[n * K + k];
        else
          for (int64_t k = 0; k < K; ++k) target[k * kPanel] = 0.0f;
      }
    std::vector<float> ragged;
    if constexpr (same("{{LOOP}}", "tile")) {
#pragma omp for schedule({{SCHEDULE}})
      for (int64_t t = 0; t < tiles; ++t) {
        const int64_t row = t * kRows;
        const int64_t rows = M - row < kRows ? M - row : kRows;
        const float* a = A + row * K;
        if (rows < kRows) {
          ragged.assign(static_cast<size_t>(kRows * K), 0.0f);
          std::memcpy(ragged.data(), a, static_cast<size_t>(rows * K) * sizeof(float));
          a = ragged.data();
        }
        for (int64_t p = 0; p < panels; ++p) {
          const int64_t column = p * kPanel;
          tile(a, K, packed + p * K * kPanel, K, row, rows, column, N - column < kPanel ? N - column : kPanel,
               epilogue);
        }
      }
    } else {
      // panel order: a block of row tiles shares each panel while it is hot in L1/L2
      constexpr int64_t kTilesPerBlock = 8;
      const int64_t blocks = (tiles + kTilesPerBlock - 1) / kTilesPerBlock;
#pragma omp for schedule({{SCHEDULE}})
      for (int64_t blockIndex = 0; blockIndex < blocks; ++blockIndex) {
        const int64_t lastTile = (blockIndex + 1) * kTilesPerBlock < tiles ? (blockIndex + 1) * kTilesPerBlock : tiles;
        for (int64_t p = 0; p < panels; ++p) {
          const int64_t column = p * kPanel;
          for (int64_t t = blockIndex * kTilesPerBlock; t < lastTile; ++t) {
            const int64_t row = t * kRows;
            const int64_t rows = M - row < kRows ? M - row : kRows;
            const float* a = A + row * K;
            if (rows < kRows) {
              ragged.assign(static_cast<size_t>(kRows * K), 0.0f);
              std::memcpy(ragged.data(), a, static_cast<size_t>(rows * K) * sizeof(float));
              a = ragged.data();
            }
            tile(a, K, packed + p * K * kPanel, K, row, rows, column, N - column < kPanel ? N - column : kPanel,
                 epilogue);
          }
        }
      }
    }
  }
  std::free(packed);
}
}  // namespace

extern "C" void kernel(const float* x0, const float* x, const float* weight, const float* bias, float* out,
                       int64_t B, int64_t D) {
  product(x, weight, B, D, D, Epilogue{x0, x, bias, out, D});
}
