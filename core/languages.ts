import type { Language } from "./protocol.js";

/** What the rest of the system needs to know about one kernel language. */
export interface LanguageFacts {
  /** How the prompts name the language. */
  promptName: string;
  /** Tag of a Markdown code fence holding its source. */
  fence: string;
  /** File extension of a kernel source, without the dot (run folders, `best -o`). */
  extension: string;
  /** The document in docs/ that tells the model (and a person) the kernel's interface. */
  abiDocument: string;
}

/** One row per language; tests/core/languages.test.ts checks that every document named here exists. */
export const LANGUAGES: Record<Language, LanguageFacts> = {
  cpp: { promptName: "C++17 with OpenMP and SIMD", fence: "cpp", extension: "cpp", abiDocument: "abi-cpu.md" },
  cuda: { promptName: "CUDA C++", fence: "cuda", extension: "cu", abiDocument: "abi-cuda.md" },
  triton: { promptName: "Triton (Python, @triton.jit)", fence: "python", extension: "py", abiDocument: "abi-triton.md" },
  python: { promptName: "PyTorch with custom kernels (a KernelBench ModelNew module)", fence: "python", extension: "py", abiDocument: "abi-kernelbench.md" },
};
