// Neumann-Laplacian solve of (M, H, W) residuals, the phase unwrap's preconditioner, by cosine transforms:
// the FFT of the mirrored (2H, 2W) field is, on its first H x W bins, a DCT-II; dividing by the Laplacian's
// eigenvalues 4 - 2cos(pi k/H) - 2cos(pi l/W) (constant mode set to 0) and inverting the DCT-II gives the
// same field as the reference's ifft2(fft2(mirrored) / eigen). Plain loops, one thread.
#include <cmath>
#include <cstdint>
#include <vector>

extern "C" void kernel(const double* residual, double* out, int64_t M, int64_t H, int64_t W) {
  const double pi = 3.14159265358979323846;
  std::vector<double> spectrum(H * W), field(H * W);
  for (int64_t m = 0; m < M; ++m) {
    const double* r = residual + m * H * W;
    for (int64_t k = 0; k < H; ++k)
      for (int64_t l = 0; l < W; ++l) {
        double sum = 0;
        for (int64_t n = 0; n < H; ++n)
          for (int64_t x = 0; x < W; ++x)
            sum += r[n * W + x] * std::cos(pi * k * (2 * n + 1) / (2.0 * H)) * std::cos(pi * l * (2 * x + 1) / (2.0 * W));
        const double eigen = 4 - 2 * std::cos(pi * k / H) - 2 * std::cos(pi * l / W);
        spectrum[k * W + l] = (k == 0 && l == 0) ? 0.0 : sum / eigen * (k ? 2.0 : 1.0) / H * (l ? 2.0 : 1.0) / W;
      }
    for (int64_t n = 0; n < H; ++n)
      for (int64_t x = 0; x < W; ++x) {
        double sum = 0;
        for (int64_t k = 0; k < H; ++k)
          for (int64_t l = 0; l < W; ++l)
            sum += spectrum[k * W + l] * std::cos(pi * k * (2 * n + 1) / (2.0 * H)) * std::cos(pi * l * (2 * x + 1) / (2.0 * W));
        out[m * H * W + n * W + x] = sum;
      }
  }
}
