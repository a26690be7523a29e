"""The swap registry: pipeline operators that can run an optimised kernel instead of their torch ops.

A pipeline module calls `swap.call(name, *args)` where it used to call torch directly. With nothing installed
that is exactly today's torch code (`SwapOp.default`). `install(name, artifact)` first checks the kernel against
the torch code on representative inputs (a wrong kernel is refused), then routes the call through a torch custom
operator (`kernelevolve::<op>`, torch.library.custom_op) with a fake (meta) implementation, so tracing and
torch.compile see its shapes, and an autograd formula where the operator sits in a training step. In eager mode
with no input needing a gradient, the kernel is called directly (the custom op's Python dispatch would cost more
than the kernel).
"""
from __future__ import annotations

import contextlib
import math
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

import torch
from torch.profiler import record_function

from .artifacts import Artifact, ArtifactError, load_artifact


class SwapError(RuntimeError):
    """An unknown operator, or a kernel that fails the check against the torch code."""


@dataclass
class SwapOp:
    """One swappable operator: its torch code, how a kernel is called for it, and its custom operator."""

    name: str
    spec: str  # id stem of the spec `profile` writes for it (the pipeline prefixes it, e.g. aovift-max-pool3d)
    description: str
    default: Callable[..., torch.Tensor]  # today's torch code
    invoke: Callable[[Artifact, tuple], torch.Tensor]  # allocates outputs, calls the kernel, returns the result
    samples: Callable[[torch.Generator, str], list[tuple]]  # representative argument tuples for the check
    atol: float
    rtol: float
    custom: Callable[..., torch.Tensor] | None = None  # set when the custom op is registered
    used_in: tuple[str, ...] = field(default_factory=tuple)  # pipeline steps that call it


_OPS: dict[str, SwapOp] = {}
_OBSERVED: dict[str, list] | None = None
_INSTALLED: dict[str, Artifact] = {}
_LOCK = threading.Lock()


def ops() -> dict[str, SwapOp]:
    """Every swappable operator, by name."""
    return dict(_OPS)


def installed() -> dict[str, dict[str, Any]]:
    """The operators currently routed to a kernel, with the kernel's path and language."""
    return {name: artifact.describe() for name, artifact in _INSTALLED.items()}


def _op(name: str) -> SwapOp:
    if name not in _OPS:
        raise SwapError(f"unknown swappable operator {name!r}; known: {', '.join(sorted(_OPS))}")
    return _OPS[name]


def call(name: str, *args, fallback: Callable[..., torch.Tensor] | None = None):
    """Runs an operator: through its installed kernel (a custom op) if any, else its torch code (`fallback`, when the
    call site keeps its own torch code, e.g. with cached constants; it must compute what `SwapOp.default` does).
    The call is a `swap::<name>` profiler region, so a profile can attribute the aten ops inside it to the operator."""
    op = _OPS[name]
    if _OBSERVED is not None and name not in _OBSERVED:
        _OBSERVED[name] = [_describe(arg) for arg in args]
    with record_function(f"swap::{name}") if _profiling() else contextlib.nullcontext():
        artifact = _INSTALLED.get(name)
        if artifact is None:
            return (fallback or op.default)(*args)
        if _eager_without_autograd(args):
            # The custom op's Python dispatch costs tens of microseconds a call, more than these kernels take; in eager
            # mode with nothing to differentiate the kernel runs directly (same kernel, same outputs).
            return op.invoke(artifact, args)
        return op.custom(*args)


def _profiling() -> bool:
    """Whether torch.profiler is recording (a region costs an op dispatch; only then is it worth it)."""
    return torch.autograd.profiler._is_profiler_enabled


def _eager_without_autograd(args: tuple) -> bool:
    """True outside torch.compile, on real (not fake or functional) tensors of which none needs a gradient."""
    if torch.compiler.is_compiling():
        return False
    grad = torch.is_grad_enabled()
    for arg in args:
        if isinstance(arg, torch.Tensor):
            if type(arg) is not torch.Tensor and not isinstance(arg, torch.nn.Parameter):
                return False  # FakeTensor, FunctionalTensor and other subclasses take the custom op
            if grad and arg.requires_grad:
                return False
    return True


def _describe(value):
    if isinstance(value, torch.Tensor):
        described = {"tensor": True, "shape": list(value.shape), "dtype": str(value.dtype).replace("torch.", "")}
        if value.dtype == torch.int64 and value.dim() == 1 and value.numel():
            described["last"] = int(value[-1])  # offsets: the total they end at sizes a jagged spec
        return described
    return value


@contextlib.contextmanager
def observe() -> Iterator[dict[str, list]]:
    """Records the arguments (tensor shapes and dtypes, other values) of each operator's first call in the block."""
    global _OBSERVED
    previous, _OBSERVED = _OBSERVED, {}
    try:
        yield _OBSERVED
    finally:
        _OBSERVED = previous


def _artifact(name: str) -> Artifact:
    artifact = _INSTALLED.get(name)
    if artifact is None:
        raise SwapError(f"kernelevolve::{name} called with no kernel installed")
    return artifact


def check(name: str, artifact: Artifact | str, device: str = "cpu", seed: int = 0) -> dict[str, Any]:
    """Compares a kernel with the torch code on the operator's representative inputs; returns the worst error per case."""
    op = _op(name)
    if isinstance(artifact, str):
        artifact = load_artifact(artifact)
    generator = torch.Generator().manual_seed(seed)
    cases, ok = [], True
    for args in op.samples(generator, device):
        expected = op.default(*args)
        try:
            got = op.invoke(artifact, args)
        except (ArtifactError, RuntimeError, ValueError) as error:
            cases.append({"shapes": [list(a.shape) for a in args if isinstance(a, torch.Tensor)], "error": str(error)})
            ok = False
            continue
        close = got.shape == expected.shape and bool(torch.allclose(got, expected, atol=op.atol, rtol=op.rtol))
        difference = (got.double() - expected.double()).abs().max().item() if got.shape == expected.shape else math.inf
        cases.append({"shapes": [list(a.shape) for a in args if isinstance(a, torch.Tensor)], "max_abs_error": difference, "ok": close})
        ok = ok and close
    return {"op": name, "kernel": artifact.describe(), "ok": ok, "atol": op.atol, "rtol": op.rtol, "cases": cases}


def install(name: str, artifact: Artifact | str, verify: bool = True, device: str = "cpu") -> dict[str, Any]:
    """Routes an operator to a kernel after checking it (a kernel that disagrees with the torch code raises SwapError)."""
    op = _op(name)
    if isinstance(artifact, str):
        artifact = load_artifact(artifact)
    report = check(name, artifact, device) if verify else {"op": name, "kernel": artifact.describe(), "ok": True, "cases": []}
    if not report["ok"]:
        failing = [case for case in report["cases"] if not case.get("ok")]
        raise SwapError(f"kernel {artifact.path} for {name} fails the check against the torch code: {failing[:2]}")
    with _LOCK:
        _INSTALLED[op.name] = artifact
    return report


def uninstall(name: str | None = None) -> None:
    """Back to the torch code for one operator, or for all."""
    with _LOCK:
        if name is None:
            _INSTALLED.clear()
        else:
            _INSTALLED.pop(name, None)


@contextlib.contextmanager
def swapped(kernels: dict[str, Artifact | str], verify: bool = True, device: str = "cpu") -> Iterator[dict[str, Any]]:
    """Installs kernels for the duration of a block (checked on `device`, where the pipeline runs), then restores
    what was installed before."""
    before = dict(_INSTALLED)
    try:
        reports = {name: install(name, artifact, verify, device) for name, artifact in kernels.items()}
        yield reports
    finally:
        with _LOCK:
            _INSTALLED.clear()
            _INSTALLED.update(before)


def _register(op: SwapOp, schema_fn: Callable, fake: Callable, backward: Callable | None, setup: Callable | None) -> SwapOp:
    custom = torch.library.custom_op(f"kernelevolve::{op.name.replace('.', '_')}", mutates_args=())(schema_fn)
    custom.register_fake(fake)
    if backward is not None:
        custom.register_autograd(backward, setup_context=setup)
    op.custom = custom
    _OPS[op.name] = op
    return op


# --- AOViFT: the 3D max pool of bead finding (embedding) -------------------------------------------------------------

def max_pool3d_same(x: torch.Tensor, kz: int, ky: int, kx: int) -> torch.Tensor:
    """Stride-1 max pool of (B, C, Z, Y, X) with odd windows and 'same' padding (what find_beads runs)."""
    return torch.nn.functional.max_pool3d(x, kernel_size=(kz, ky, kx), stride=1, padding=(kz // 2, ky // 2, kx // 2))


def _pool_invoke(artifact: Artifact, args: tuple) -> torch.Tensor:
    x, kz, ky, kx = args
    x = x.contiguous()
    out = torch.empty_like(x)
    artifact.call([x], [out], list(x.shape), [kz, ky, kx])
    return out


def _pool_samples(generator: torch.Generator, device: str) -> list[tuple]:
    shapes = [(2, 1, 9, 11, 13), (3, 2, 16, 16, 16), (8, 1, 32, 32, 32)]
    return [(torch.rand(shape, generator=generator).to(device), 5, 7, 7) for shape in shapes] + [(torch.rand(1, 1, 6, 5, 7, generator=generator).to(device), 3, 3, 5)]


def _pool_impl(x: torch.Tensor, kz: int, ky: int, kx: int) -> torch.Tensor:
    return _pool_invoke(_artifact("aovift.max_pool3d"), (x, kz, ky, kx))


def _pool_backward(ctx, grad):
    x, = ctx.saved_tensors
    with torch.enable_grad():
        leaf = x.detach().requires_grad_(True)
        (result,) = torch.autograd.grad(max_pool3d_same(leaf, *ctx.window), leaf, grad)  # backward via the reference
    return result, None, None, None


def _pool_setup(ctx, inputs, output):
    x, kz, ky, kx = inputs
    ctx.save_for_backward(x)
    ctx.window = (kz, ky, kx)


_register(
    SwapOp("aovift.max_pool3d", "max-pool3d", "stride-1 'same' 3D max pool of find_beads (AOViFT embedding)", max_pool3d_same,
           _pool_invoke, _pool_samples, atol=0.0, rtol=0.0, used_in=("aovift.inference",)),
    _pool_impl, lambda x, kz, ky, kx: torch.empty_like(x), _pool_backward, _pool_setup)


# --- AOViFT: the Neumann-Poisson preconditioner of the phase unwrap --------------------------------------------------

def neumann_eigen_inverse(height: int, width: int, dtype=torch.float64, device="cpu") -> torch.Tensor:
    """1 / eigenvalues of the Neumann Laplacian on the mirrored (2H, 2W) grid, with the constant mode zeroed."""
    iy = torch.arange(2 * height, dtype=dtype, device=device)
    ix = torch.arange(2 * width, dtype=dtype, device=device)
    eigen = 4 - 2 * torch.cos(math.pi * iy / height)[:, None] - 2 * torch.cos(math.pi * ix / width)[None, :]
    eigen[0, 0] = 1.0
    inverse = 1 / eigen
    inverse[0, 0] = 0.0
    return inverse


def neumann_poisson(residual: torch.Tensor) -> torch.Tensor:
    """Solves the Neumann Laplacian for (M, H, W) residuals by FFT of the mirrored field (the unwrap's preconditioner)."""
    height, width = residual.shape[-2:]
    inverse = neumann_eigen_inverse(height, width, residual.dtype, residual.device)
    mirrored = torch.cat([residual, residual.flip(-1)], dim=-1)
    mirrored = torch.cat([mirrored, mirrored.flip(-2)], dim=-2)
    return torch.fft.ifft2(torch.fft.fft2(mirrored) * inverse).real[..., :height, :width]


def _poisson_invoke(artifact: Artifact, args: tuple) -> torch.Tensor:
    (residual,) = args
    residual = residual.contiguous()
    out = torch.empty_like(residual)
    artifact.call([residual], [out], list(residual.shape), [])
    return out


def _poisson_samples(generator: torch.Generator, device: str) -> list[tuple]:
    shapes = [(3, 7, 9), (40, 32, 32), (2, 16, 16)]
    return [(torch.randn(shape, generator=generator, dtype=torch.float64).to(device),) for shape in shapes]


def _poisson_impl(residual: torch.Tensor) -> torch.Tensor:
    return _poisson_invoke(_artifact("aovift.neumann_poisson"), (residual,))


def _poisson_backward(ctx, grad):
    # The solve is a symmetric linear map (cosine transform, diagonal scaling, inverse transform): its own adjoint.
    return call("aovift.neumann_poisson", grad.contiguous())


_register(
    SwapOp("aovift.neumann_poisson", "neumann-poisson", "Neumann-Laplacian solve preconditioning the phase unwrap (AOViFT embedding)",
           neumann_poisson, _poisson_invoke, _poisson_samples, atol=1e-9, rtol=1e-7, used_in=("aovift.inference",)),
    _poisson_impl, lambda residual: torch.empty_like(residual), _poisson_backward, lambda ctx, inputs, output: None)


# --- ExFM: the DLRM pairwise-dot interaction -------------------------------------------------------------------------

def dot_interaction(features: torch.Tensor) -> torch.Tensor:
    """Strictly-lower-triangle pairwise dot products of (B, F, D) vectors, row-major (DLRM)."""
    count = features.shape[1]
    gram = torch.bmm(features, features.transpose(1, 2))
    rows, cols = torch.tril_indices(count, count, offset=-1, device=features.device)
    return gram[:, rows, cols]


def _dot_invoke(artifact: Artifact, args: tuple) -> torch.Tensor:
    (features,) = args
    features = features.contiguous()
    batch, count, dim = features.shape
    out = features.new_empty(batch, count * (count - 1) // 2)
    artifact.call([features], [out], [batch, count, dim], [])
    return out


def _dot_samples(generator: torch.Generator, device: str) -> list[tuple]:
    shapes = [(5, 7, 11), (512, 9, 16), (64, 27, 64)]
    return [(torch.randn(shape, generator=generator).to(device),) for shape in shapes]


def _dot_impl(features: torch.Tensor) -> torch.Tensor:
    return _dot_invoke(_artifact("exfm.dot_interaction"), (features,))


def _dot_fake(features: torch.Tensor) -> torch.Tensor:
    count = features.shape[1]
    return features.new_empty(features.shape[0], count * (count - 1) // 2)


def _dot_backward(ctx, grad):
    # d/dx of sum_{i>j} g_ij <x_i, x_j>: scatter g into a symmetric (F, F) matrix, then multiply by the features.
    (features,) = ctx.saved_tensors
    count = features.shape[1]
    rows, cols = torch.tril_indices(count, count, offset=-1, device=features.device)
    pairs = grad.new_zeros(grad.shape[0], count, count)
    pairs[:, rows, cols] = grad
    return torch.bmm(pairs + pairs.transpose(1, 2), features)


def _dot_setup(ctx, inputs, output):
    ctx.save_for_backward(inputs[0])


_register(
    SwapOp("exfm.dot_interaction", "dot-interaction", "DLRM pairwise-dot interaction (ExFM trunk, training and inference)", dot_interaction,
           _dot_invoke, _dot_samples, atol=1e-4, rtol=1e-4, used_in=("exfm.training", "exfm.inference")),
    _dot_impl, _dot_fake, _dot_backward, _dot_setup)


# --- ExFM: the jagged repeat of row selection (Jagged.select) ----------------------------------------------------------

def repeat_by_offsets(values: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
    """values[i] repeated offsets[i+1] - offsets[i] times (torch.repeat_interleave with lengths as offsets)."""
    return torch.repeat_interleave(values, offsets[1:] - offsets[:-1])


def _repeat_invoke(artifact: Artifact, args: tuple) -> torch.Tensor:
    values, offsets = (a.contiguous() for a in args)
    total = int(offsets[-1]) if offsets.numel() else 0
    out = values.new_empty(total)
    artifact.call([values, offsets], [out], [values.numel(), total], [])
    return out


def _repeat_samples(generator: torch.Generator, device: str) -> list[tuple]:
    cases = []
    for rows, most in ((7, 4), (512, 12), (4096, 40)):
        lengths = torch.randint(0, most, (rows,), generator=generator)
        offsets = torch.zeros(rows + 1, dtype=torch.int64)
        offsets[1:] = torch.cumsum(lengths, 0)
        cases.append((torch.randint(-1000, 1000, (rows,), generator=generator).to(device), offsets.to(device)))
    return cases


def _repeat_impl(values: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
    return _repeat_invoke(_artifact("exfm.repeat_interleave"), (values, offsets))


def _repeat_fake(values: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
    return values.new_empty(torch.library.get_ctx().new_dynamic_size())


_register(
    SwapOp("exfm.repeat_interleave", "repeat-interleave", "jagged repeat of row selection (ExFM Jagged.select, every training and inference batch)",
           repeat_by_offsets, _repeat_invoke, _repeat_samples, atol=0.0, rtol=0.0, used_in=("exfm.training", "exfm.inference")),
    _repeat_impl, _repeat_fake, None, None)
