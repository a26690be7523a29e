// Mean BCE with logits: blocks write partial sums to a scratch buffer (allocated once), one block adds them and divides.
#include <cstdint>
#include <cuda_runtime.h>

constexpr int THREADS = 256;
constexpr int MAX_BLOCKS = 1024;

__global__ void partial_losses(const float* logits, const float* labels, float* partial, int64_t count) {
  __shared__ float shared[THREADS];
  float total = 0.f;
  for (int64_t i = blockIdx.x * (int64_t)THREADS + threadIdx.x; i < count; i += (int64_t)gridDim.x * THREADS) {
    float x = logits[i];
    total += fmaxf(x, 0.f) - x * labels[i] + logf(1.f + expf(-fabsf(x)));
  }
  shared[threadIdx.x] = total;
  __syncthreads();
  for (int width = THREADS / 2; width > 0; width >>= 1) {
    if (threadIdx.x < width) shared[threadIdx.x] += shared[threadIdx.x + width];
    __syncthreads();
  }
  if (threadIdx.x == 0) partial[blockIdx.x] = shared[0];
}

__global__ void finish(const float* partial, int blocks, float* loss, int64_t count) {
  __shared__ float shared[THREADS];
  float total = 0.f;
  for (int i = threadIdx.x; i < blocks; i += THREADS) total += partial[i];
  shared[threadIdx.x] = total;
  __syncthreads();
  for (int width = THREADS / 2; width > 0; width >>= 1) {
    if (threadIdx.x < width) shared[threadIdx.x] += shared[threadIdx.x + width];
    __syncthreads();
  }
  if (threadIdx.x == 0) *loss = shared[0] / (float)count;
}

extern "C" void kernel(const float* logits, const float* labels, float* loss, int64_t B, int64_t T) {
  // Scratch for partial sums, not results: every call overwrites it before reading it.
  static float* partial = nullptr;
  if (!partial) cudaMalloc(&partial, MAX_BLOCKS * sizeof(float));
  int64_t count = B * T;
  int64_t needed = (count + THREADS - 1) / THREADS;
  int blocks = (int)(needed < MAX_BLOCKS ? (needed > 0 ? needed : 1) : MAX_BLOCKS);
  partial_losses<<<blocks, THREADS>>>(logits, labels, partial, count);
  finish<<<1, THREADS>>>(partial, blocks, loss, count);
}
