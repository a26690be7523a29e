// kernelevolve:template
// param BM: 64, 32, 128
// param BN: 64, 32, 128
// param BK: 16, 8, 32
// param TM: 4, 2, 8
// param TN: 4, 2, 8
// constraint: (BM // TM) * (BN // TN) in (64, 128, 256) and BM % TM == 0 and BN % TN == 0 and (BM + BN) * BK <= 6144
// DCN cross layer x0 * (x @ weight^T + bias) + x: shared-memory tiles with TM x TN outputs per thread, fp32 FMA (no TF32),
// the whole epilogue fused into the store.
#include <cstdint>

constexpr int BM = {{BM}}, BN = {{BN}}, BK = {{BK}}, TM = {{TM}}, TN = {{TN}};
constexpr int THREADS_M = BM / TM, THREADS_N = BN / TN, THREADS = THREADS_M * THREADS_N;

// A block computes a BM x BN tile of a[M, K] * b[N, K]^T; thread (ty, tx) owns rows ty + i * THREADS_M and columns
// tx + j * THREADS_N, so a warp reads consecutive shared-memory words (no bank conflicts) and stores coalesced.
__global__ void __launch_bounds__(THREADS) gemm_nt(const float* __restrict__ a, const float* __restrict__ b, const float* __restrict__ bias,
                                                    const float* __restrict__ x0, float* __restrict__ out, int64_t M, int64_t K, int64_t N) {
  __shared__ float a_tile[BK][BM + 4];
  __shared__ float b_tile[BK][BN + 4];
  const int tid = threadIdx.x, tx = tid % THREADS_N, ty = tid / THREADS_N;
  const int64_t row0 = (int64_t)blockIdx.y * BM, column0 = (int64_t)blockIdx.x * BN;
  float accumulator[TM][TN];
#pragma unroll
  for (int i = 0; i < TM; ++i)
#pragma unroll
    for (int j = 0; j < TN; ++j) accumulator[i][j] = 0.f;
  for (int64_t k0 = 0; k0 < K; k0 += BK) {
    for (int i = tid; i < BM * BK; i += THREADS) {
      const int r = i / BK, c = i % BK;
      const int64_t global_row = row0 + r, global_k = k0 + c;
      a_tile[c][r] = (global_row < M && global_k < K) ? a[global_row * K + global_k] : 0.f;
    }
    for (int i = tid; i < BN * BK; i += THREADS) {
      const int r = i / BK, c = i % BK;
      const int64_t global_column = column0 + r, global_k = k0 + c;
      b_tile[c][r] = (global_column < N && global_k < K) ? b[global_column * K + global_k] : 0.f;
    }
    __syncthreads();
#pragma unroll
    for (int k = 0; k < BK; ++k) {
      float a_values[TM], b_values[TN];
#pragma unroll
      for (int i = 0; i < TM; ++i) a_values[i] = a_tile[k][ty + i * THREADS_M];
#pragma unroll
      for (int j = 0; j < TN; ++j) b_values[j] = b_tile[k][tx + j * THREADS_N];
#pragma unroll
      for (int i = 0; i < TM; ++i)
#pragma unroll
        for (int j = 0; j < TN; ++j) accumulator[i][j] = fmaf(a_values[i], b_values[j], accumulator[i][j]);
    }
    __syncthreads();
  }
#pragma unroll
  for (int i = 0; i < TM; ++i) {
    const int64_t r = row0 + ty + i * THREADS_M;
#pragma unroll
    for (int j = 0; j < TN; ++j) {
      const int64_t c = column0 + tx + j * THREADS_N;
      if (r < M && c < N) {
        out[r * N + c] = x0[r * N + c] * (accumulator[i][j] + bias[c]) + a[r * K + c];
      }
    }
  }
}

extern "C" void kernel(const float* x0, const float* x, const float* weight, const float* bias, float* out, int64_t B, int64_t D) {
  if (B == 0 || D == 0) return;
  gemm_nt<<<dim3((unsigned)((D + BN - 1) / BN), (unsigned)((B + BM - 1) / BM)), THREADS>>>(x, weight, bias, x0, out, B, D, D);
}
