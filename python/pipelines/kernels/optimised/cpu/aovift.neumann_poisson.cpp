// Best kernel of `kernelevolve optimize aovift-neumann-poisson --specs-dir <profile specs> --budget 6` (offline autotune of the seed template
// python/pipelines/kernels/seeds/cpu/neumann-poisson/template.cpp), run 20261207-224414-aovift-neumann-poisson-11c2, candidate c0006, 19.8x over the torch reference at the
// spec's sizes on this 2-core machine under load (docs/benchmarks.md). Swapped in for aovift.neumann_poisson.
// kernelevolve:instance SCHEDULE=static MAPS_PER_CHUNK=4 ROWS=2
// Neumann-Laplacian solve of (M, H, W) residuals (the phase unwrap's preconditioner) as four small matrix
// products per map: DCT-II along y and x, a scaling by the inverse Laplacian eigenvalues (constant mode 0)
// folded with the inverse-DCT weights, then the transposed transforms back. The cosine tables are built
// per call; maps are spread over threads; every inner loop runs along a contiguous row (vectorised), with
// ROWS output rows accumulated together so each loaded row is used ROWS times.
#include <cmath>
#include <cstdint>
#include <vector>

namespace {
constexpr int kRows = 2;

// target[i][:] = sum_k a[i * a_row + k * a_col] * b[k][:] for i < rows_a; b is (inner x cols), target (rows_a x cols).
inline void product(const double* a, int64_t a_row, int64_t a_col, const double* b, double* target, int64_t rows_a,
                    int64_t inner, int64_t cols) {
  int64_t i = 0;
  for (; i + kRows <= rows_a; i += kRows) {
    double* t[kRows];
    for (int r = 0; r < kRows; ++r) {
      t[r] = target + (i + r) * cols;
      for (int64_t c = 0; c < cols; ++c) t[r][c] = 0.0;
    }
    for (int64_t k = 0; k < inner; ++k) {
      const double* row = b + k * cols;
      double w[kRows];
      for (int r = 0; r < kRows; ++r) w[r] = a[(i + r) * a_row + k * a_col];
      for (int64_t c = 0; c < cols; ++c)
        for (int r = 0; r < kRows; ++r) t[r][c] += w[r] * row[c];
    }
  }
  for (; i < rows_a; ++i) {
    double* t = target + i * cols;
    for (int64_t c = 0; c < cols; ++c) t[c] = 0.0;
    for (int64_t k = 0; k < inner; ++k) {
      const double w = a[i * a_row + k * a_col];
      const double* row = b + k * cols;
      for (int64_t c = 0; c < cols; ++c) t[c] += w * row[c];
    }
  }
}
}  // namespace

extern "C" void kernel(const double* residual, double* out, int64_t M, int64_t H, int64_t W) {
  const double pi = 3.14159265358979323846;
  // cy[k][n] = cos(pi k (2n+1) / 2H), cx[l][x] likewise; scale[k][l] = inverse eigenvalue x inverse-DCT weights.
  std::vector<double> cy(H * H), cx(W * W), cxt(W * W), scale(H * W);
  for (int64_t k = 0; k < H; ++k)
    for (int64_t n = 0; n < H; ++n) cy[k * H + n] = std::cos(pi * k * (2 * n + 1) / (2.0 * H));
  for (int64_t l = 0; l < W; ++l)
    for (int64_t x = 0; x < W; ++x) cxt[x * W + l] = cx[l * W + x] = std::cos(pi * l * (2 * x + 1) / (2.0 * W));
  for (int64_t k = 0; k < H; ++k)
    for (int64_t l = 0; l < W; ++l) {
      const double eigen = 4 - 2 * std::cos(pi * k / H) - 2 * std::cos(pi * l / W);
      scale[k * W + l] = (k == 0 && l == 0) ? 0.0 : (k ? 2.0 : 1.0) / H * (l ? 2.0 : 1.0) / W / eigen;
    }
#pragma omp parallel if (M * H * W * (H + W) > 200000)
  {
    std::vector<double> first(H * W), second(H * W);
#pragma omp for schedule(static, 4)
    for (int64_t m = 0; m < M; ++m) {
      const double* r = residual + m * H * W;
      product(cy.data(), H, 1, r, first.data(), H, H, W);            // first[k][x] = sum_n cy[k][n] r[n][x]
      product(first.data(), W, 1, cxt.data(), second.data(), H, W, W); // second[k][l] = sum_x first[k][x] cx[l][x]
      for (int64_t i = 0; i < H * W; ++i) second[i] *= scale[i];
      product(cy.data(), 1, H, second.data(), first.data(), H, H, W);  // first[n][l] = sum_k cy[k][n] second[k][l]
      product(first.data(), W, 1, cx.data(), out + m * H * W, H, W, W); // out[n][x] = sum_l first[n][l] cx[l][x]
    }
  }
}
