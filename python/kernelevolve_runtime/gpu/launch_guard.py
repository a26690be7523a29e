"""Catches launchers that compute with torch instead of a kernel: a dispatch mode that allows only allocation and views."""
from ..platforms.base import CandidateViolation

# Calls a launcher may make: allocating, shaping, zero-filling (atomics need zeroed outputs) and metadata.
ALLOWED_OPS = frozenset({
    "empty", "empty_like", "empty_strided", "new_empty", "new_empty_strided", "zeros", "zeros_like", "new_zeros", "zero_",
    "fill_", "view", "_unsafe_view", "reshape", "as_strided", "expand", "unsqueeze", "squeeze", "t", "transpose", "permute",
    "slice", "select", "detach", "alias", "lift_fresh", "_reshape_alias", "unbind", "split", "chunk", "narrow", "flatten",
    "unflatten", "is_contiguous", "sym_size", "sym_stride", "sym_numel", "sym_storage_offset", "record_stream",
})
# How many calls of each binding run under the guard: every correctness trial and the first warm-up call.
GUARDED_CALLS = 2


def _make_mode_class():
    from torch.utils._python_dispatch import TorchDispatchMode

    class LaunchGuardMode(TorchDispatchMode):
        """Records the first torch compute op dispatched while not paused (inside kernel launches it is paused)."""

        def __init__(self, guard):
            super().__init__()
            self.guard = guard

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            name = func.overloadpacket.__name__
            if self.guard.paused == 0 and name not in ALLOWED_OPS and self.guard.forbidden is None:
                self.guard.forbidden = f"torch.ops.aten.{name}"
            return func(*args, **(kwargs or {}))

    return LaunchGuardMode


class LaunchGuard:
    """Counts kernel launches and forbidden torch ops during a guarded call."""

    _mode_class = None

    def __init__(self):
        self.paused = 0
        self.launches = 0
        self.forbidden = None

    def pause(self):
        """Entered by a kernel launch: the launch machinery (e.g. Triton's interpreter) may use torch freely."""
        self.paused += 1
        self.launches += 1

    def resume(self):
        """Left by a kernel launch."""
        self.paused -= 1

    def run(self, call, require_launch):
        """Runs call() under the guard; raises CandidateViolation(forbidden_call) on torch compute or no launch."""
        if LaunchGuard._mode_class is None:
            LaunchGuard._mode_class = _make_mode_class()
        self.launches, self.forbidden = 0, None
        with LaunchGuard._mode_class(self):
            result = call()
        if self.forbidden:
            raise CandidateViolation("forbidden_call", f"the candidate computed with {self.forbidden} instead of its own kernel "
                                                       "(only allocation and views are allowed outside kernels)")
        if require_launch and self.launches == 0:
            raise CandidateViolation("forbidden_call", "the call launched no kernel")
        return result


class GuardedBinding:
    """Wraps a binding so its first GUARDED_CALLS calls run under the guard; later (timed) calls run bare."""

    def __init__(self, binding, guard, require_launch):
        self.binding = binding
        self.guard = guard
        self.require_launch = require_launch
        self.calls = 0

    @property
    def outputs(self):
        """The wrapped binding's outputs."""
        return self.binding.outputs

    def __call__(self):
        self.calls += 1
        if self.calls <= GUARDED_CALLS:
            return self.guard.run(self.binding, self.require_launch)
        return self.binding()


class GuardedKernel:
    """Wraps a loaded kernel so every binding it makes is guarded."""

    def __init__(self, kernel, guard, require_launch):
        self.kernel = kernel
        self.guard = guard
        self.require_launch = require_launch
        self.returns_outputs = kernel.returns_outputs

    def bind(self, inputs, dimensions, scalars, output_specs, outputs=None):
        """A guarded binding of the wrapped kernel."""
        return GuardedBinding(self.kernel.bind(inputs, dimensions, scalars, output_specs, outputs), self.guard, self.require_launch)


def install_triton_launch_hooks(guard):
    """Makes every Triton launch (compiled or interpreted) pause the guard and count as a launch."""
    from triton.runtime.jit import JITFunction

    classes = [JITFunction]
    try:
        from triton.runtime.interpreter import InterpretedFunction

        classes.append(InterpretedFunction)
    except ImportError:
        pass
    for cls in classes:
        original = cls.run
        if getattr(original, "_kernelevolve_hooked", False):
            continue

        def run(self, *args, _original=original, **kwargs):
            guard.pause()
            try:
                return _original(self, *args, **kwargs)
            finally:
                guard.resume()

        run._kernelevolve_hooked = True
        cls.run = run
