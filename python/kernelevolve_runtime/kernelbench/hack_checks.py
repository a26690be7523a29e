"""Static checks for known reward hacks: Python candidates parsed with `ast`, C++/CUDA sources scanned token by token.

Each check returns findings ({message, line}); static_checks.py registers them with a default mode, and
options.staticChecks may set any of them to strict, warn or off.
"""
import ast
import re

from .source_scan import cxx_findings, strip_cxx

PYTHON_LANGUAGES = ("python", "triton")
# Tensor-producing calls that allocate or describe rather than compute.
ALLOCATION = {"empty", "empty_like", "empty_strided", "zeros", "zeros_like", "ones", "ones_like", "full", "full_like",
              "device", "dtype", "is_tensor", "numel", "finfo", "iinfo", "Size", "get_default_dtype", "no_grad",
              "inference_mode", "arange", "tensor", "as_tensor", "from_numpy", "result_type"}
# Tensor methods that only describe, reshape metadata or move memory (not the problem's compute).
TENSOR_METADATA = {"size", "dim", "numel", "stride", "data_ptr", "is_contiguous", "contiguous", "element_size", "view", "reshape",
                   "new_empty", "new_zeros", "new_ones", "new_full", "to", "cpu", "cuda", "item", "tolist", "numpy", "copy_", "fill_",
                   "zero_", "unsqueeze", "squeeze", "flatten", "storage_offset", "type", "get_device", "clone", "detach", "float",
                   "double", "int", "long", "bool", "is_floating_point", "nelement", "expand", "permute", "transpose", "t"}
TENSOR_COMPUTE = {"matmul", "mm", "bmm", "mv", "dot", "addmm", "baddbmm", "einsum", "sum", "mean", "max", "min", "amax", "amin",
                  "argmax", "argmin", "prod", "cumsum", "cumprod", "softmax", "log_softmax", "relu", "relu_", "sigmoid", "tanh",
                  "exp", "log", "sqrt", "rsqrt", "pow", "norm", "var", "std", "clamp", "clamp_min", "clamp_max", "abs", "mul",
                  "add", "sub", "div", "maximum", "minimum", "where", "masked_fill", "conv1d", "conv2d", "conv3d", "topk", "sort",
                  "logsumexp", "gelu", "silu", "erf", "lerp", "addcmul", "addcdiv", "square", "neg", "reciprocal", "flip", "cross"}
NN_CONTAINERS = {"Module", "ModuleList", "ModuleDict", "Parameter", "ParameterList", "ParameterDict", "Sequential", "Identity"}
LOW_PRECISION = {"float16", "half", "bfloat16", "float8_e4m3fn", "float8_e5m2"}


def _dotted(node):
    """'torch.nn.functional.relu' for an attribute chain ending in a name, else None."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


class PythonSource:
    """A parsed candidate with the import aliases resolved (`F` -> torch.nn.functional) and ModelNew located."""

    def __init__(self, source):
        self.tree = ast.parse(source)
        self.aliases = {}
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    self.aliases[alias.asname or alias.name.split(".")[0]] = alias.name if alias.asname else alias.name.split(".")[0]
            elif isinstance(node, ast.ImportFrom) and node.module:
                for alias in node.names:
                    self.aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
        self.model = next((node for node in self.tree.body if isinstance(node, ast.ClassDef) and node.name == "ModelNew"), None)

    def resolve(self, node):
        """The fully qualified dotted name of an expression, with import aliases expanded."""
        dotted = _dotted(node)
        if dotted is None:
            return None
        head, _, rest = dotted.partition(".")
        full = self.aliases.get(head, head)
        return f"{full}.{rest}" if rest else full

    def methods(self, include_init=False):
        """ModelNew's methods (forward and helpers; __init__ only when asked)."""
        if self.model is None:
            return []
        return [node for node in self.model.body if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
                and (include_init or node.name != "__init__")]


def _python(check):
    """Adapts a check over a PythonSource to (source, language, spec); unparsable sources are left to the loader."""

    def run(source, language, spec):
        if language not in PYTHON_LANGUAGES:
            return []
        try:
            parsed = PythonSource(source)
        except SyntaxError:
            return []
        return check(parsed, spec)

    run.__doc__ = check.__doc__
    return run


def _finding(node, message):
    return {"message": message, "line": getattr(node, "lineno", None)}


def _custom_kernels_only(spec):
    return bool((spec.get("constraints") or {}).get("customKernelsOnly"))


@_python
def library_compute(parsed, spec):
    """torch / F / nn compute (or tensor compute methods) in ModelNew's forward path where the spec asks for custom kernels."""
    if not _custom_kernels_only(spec):
        return []
    findings, layers = [], set()
    for method in parsed.methods(include_init=True):
        if method.name != "__init__":
            continue
        for node in ast.walk(method):
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
                name = parsed.resolve(node.value.func) or ""
                if name.startswith("torch.nn.") and name.rsplit(".", 1)[-1] not in NN_CONTAINERS:
                    layers.update(target.attr for target in node.targets if isinstance(target, ast.Attribute))
    for method in parsed.methods():
        for node in ast.walk(method):
            if isinstance(node, ast.BinOp) and isinstance(node.op, ast.MatMult):
                findings.append(_finding(node, "ModelNew computes with the @ operator (library matmul) instead of a custom kernel"))
            if not isinstance(node, ast.Call):
                continue
            name = parsed.resolve(node.func) or ""
            last = name.rsplit(".", 1)[-1]
            if name.startswith("torch.") and last not in ALLOCATION and not name.startswith(("torch.cuda.", "torch.backends.", "torch.utils.cpp_extension")):
                findings.append(_finding(node, f"ModelNew calls library compute {name}() instead of a custom kernel"))
            elif isinstance(node.func, ast.Attribute) and node.func.attr in TENSOR_COMPUTE and not name.startswith(("self.", "torch.")):
                findings.append(_finding(node, f"ModelNew calls the tensor method .{node.func.attr}() (library compute) instead of a custom kernel"))
            elif isinstance(node.func, ast.Attribute) and _dotted(node.func) and _dotted(node.func).startswith("self.") and node.func.attr in layers:
                findings.append(_finding(node, f"ModelNew calls the torch.nn layer self.{node.func.attr} (library compute) instead of a custom kernel"))
    return findings


@_python
def reference_reuse(parsed, spec):
    """ModelNew inheriting Model, building a Model, calling super().forward or the spec's reference instead of computing."""
    findings = []
    if parsed.model is not None:
        bases = [parsed.resolve(base) or "" for base in parsed.model.bases]
        if any(base.split(".")[-1] == "Model" for base in bases):
            has_forward = any(method.name == "forward" for method in parsed.methods())
            findings.append(_finding(parsed.model, "ModelNew inherits the reference Model" + ("" if has_forward else " and does not define forward")))
    for node in ast.walk(parsed.tree):
        if not isinstance(node, ast.Call):
            continue
        name = parsed.resolve(node.func) or ""
        if name.split(".")[-1] in ("Model", "reference", "get_inputs") and not name.startswith("torch."):
            findings.append(_finding(node, f"the candidate calls the reference's {name}()"))
        if isinstance(node.func, ast.Attribute) and node.func.attr == "forward" and isinstance(node.func.value, ast.Call) \
                and parsed.resolve(node.func.value.func) == "super":
            findings.append(_finding(node, "the candidate calls super().forward(), the reference's computation"))
    return findings


@_python
def exception_fallback(parsed, spec):
    """try/except (or contextlib.suppress) that can fall back to other code when the kernel fails."""
    findings = []
    for node in ast.walk(parsed.tree):
        if isinstance(node, ast.Try) and node.handlers:
            caught = {parsed.resolve(handler.type) if handler.type is not None and not isinstance(handler.type, ast.Tuple) else None
                      for handler in node.handlers}
            if node in parsed.tree.body and caught <= {"ImportError", "ModuleNotFoundError"}:
                continue
            findings.append(_finding(node, "try/except in the candidate: a failing kernel could silently fall back to other code"))
        if isinstance(node, ast.Call) and (parsed.resolve(node.func) or "").endswith("contextlib.suppress"):
            findings.append(_finding(node, "contextlib.suppress hides a failing kernel"))
    return findings


_CONCURRENCY_MODULES = ("threading", "_thread", "multiprocessing", "concurrent", "subprocess", "asyncio")
_CONCURRENCY_CALLS = {"os.fork", "os.forkpty", "os.system", "os.popen", "os.spawnv", "os.spawnl", "os.posix_spawn", "os.execv",
                      "torch.jit.fork", "torch.multiprocessing.spawn"}


@_python
def concurrency(parsed, spec):
    """Threads and processes started by the candidate (threading, multiprocessing, concurrent.futures, subprocess, os.fork)."""
    findings = []
    for node in ast.walk(parsed.tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            modules = [alias.name for alias in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            for module in modules:
                if module.split(".")[0] in _CONCURRENCY_MODULES or module == "torch.multiprocessing":
                    findings.append(_finding(node, f"the candidate imports {module} (threads or processes of its own)"))
        elif isinstance(node, ast.Call) and (parsed.resolve(node.func) or "") in _CONCURRENCY_CALLS:
            findings.append(_finding(node, f"the candidate calls {parsed.resolve(node.func)}()"))
    return findings


@_python
def stream_creation(parsed, spec):
    """Side streams (torch.cuda.Stream, torch.cuda.stream contexts) that let work escape the timed stream."""
    findings = []
    for node in ast.walk(parsed.tree):
        if isinstance(node, ast.Call):
            name = parsed.resolve(node.func) or ""
            if name in ("torch.cuda.Stream", "torch.cuda.stream", "torch.cuda.set_stream", "torch.Stream", "torch.cuda.ExternalStream"):
                findings.append(_finding(node, f"the candidate creates or switches streams ({name})"))
    return findings


_PATCHABLE = ("time", "torch", "timeit", "builtins", "sys", "gc", "kernelevolve_runtime", "triton", "numpy")


@_python
def timer_patching(parsed, spec):
    """Assignments to (or setattr on) time, torch or the harness: patched clocks, events, synchronize or comparisons."""
    findings = []
    for node in ast.walk(parsed.tree):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, (ast.AugAssign, ast.AnnAssign)) else []
        for target in targets:
            if isinstance(target, ast.Attribute):
                name = parsed.resolve(target) or ""
                if name.split(".")[0] in _PATCHABLE:
                    findings.append(_finding(node, f"the candidate overwrites {name}"))
        if isinstance(node, ast.Call):
            name = parsed.resolve(node.func) or ""
            if name in ("setattr", "delattr") and node.args and (parsed.resolve(node.args[0]) or "").split(".")[0] in _PATCHABLE:
                findings.append(_finding(node, f"the candidate calls {name} on {parsed.resolve(node.args[0])}"))
            if name in ("sys._getframe", "inspect.currentframe", "inspect.stack", "gc.get_objects", "gc.get_referrers"):
                findings.append(_finding(node, f"the candidate inspects the harness through {name}()"))
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            modules = [alias.name for alias in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            if any(module.split(".")[0] == "kernelevolve_runtime" for module in modules):
                findings.append(_finding(node, "the candidate imports the evaluation harness"))
        if isinstance(node, ast.Subscript) and (parsed.resolve(node.value) or "") == "sys.modules" and isinstance(getattr(node, "ctx", None), ast.Store):
            findings.append(_finding(node, "the candidate replaces a module in sys.modules"))
    return findings


_VIEW_METHODS = {"view", "reshape", "expand", "as_strided", "detach", "t", "transpose", "permute", "squeeze", "unsqueeze",
                 "narrow", "select", "view_as", "expand_as", "flatten", "unflatten", "contiguous"}


@_python
def lazy_output(parsed, spec):
    """Outputs whose computation is deferred or borrowed: Tensor subclasses with __torch_function__, returning an input or a view of it."""
    findings = []
    for node in ast.walk(parsed.tree):
        if isinstance(node, ast.ClassDef):
            bases = [parsed.resolve(base) or "" for base in node.bases]
            defines = {item.name for item in node.body if isinstance(item, ast.FunctionDef)}
            if "torch.Tensor" in bases or defines & {"__torch_function__", "__torch_dispatch__"}:
                findings.append(_finding(node, f"class {node.name} is a tensor subclass or overrides __torch_function__: outputs could be computed lazily"))
        if isinstance(node, ast.Call) and (parsed.resolve(node.func) or "") in ("torch.Tensor._make_subclass", "torch._C._disabled_torch_function_impl"):
            findings.append(_finding(node, "the candidate builds a tensor subclass instance"))
    forward = next((method for method in parsed.methods() if method.name == "forward"), None)
    if forward is not None:
        parameters = {argument.arg for argument in forward.args.args[1:]}
        for node in ast.walk(forward):
            if not isinstance(node, ast.Return) or node.value is None:
                continue
            values = node.value.elts if isinstance(node.value, ast.Tuple) else [node.value]
            for value in values:
                base = value
                while isinstance(base, ast.Call) and isinstance(base.func, ast.Attribute) and base.func.attr in _VIEW_METHODS:
                    base = base.func.value
                if isinstance(base, ast.Subscript):
                    base = base.value
                if isinstance(base, ast.Name) and base.id in parameters:
                    findings.append(_finding(node, f"forward returns its input '{base.id}' (or a view of it) instead of a computed output"))
    return findings


def _float_only(spec):
    dtypes = {tensor.get("dtype") for tensor in list(spec.get("inputs", [])) + list(spec.get("outputs", []))}
    return bool(dtypes & {"float32", "float64"}) and not dtypes & {"float16", "bfloat16"}


@_python
def precision_downgrade(parsed, spec):
    """Half or bfloat16 compute (.half(), .to(torch.float16), autocast, TF32) in a float32/float64 spec."""
    if not _float_only(spec):
        return []
    findings = []
    for node in ast.walk(parsed.tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in ("half", "bfloat16"):
            findings.append(_finding(node, f".{node.func.attr}() in a float32 spec: a precision downgrade"))
        elif isinstance(node, ast.Attribute):
            name = parsed.resolve(node) or ""
            if name.startswith("torch.") and name.split(".")[-1] in LOW_PRECISION:
                findings.append(_finding(node, f"{name} in a float32 spec: a precision downgrade"))
            elif name in ("torch.backends.cuda.matmul.allow_tf32", "torch.backends.cudnn.allow_tf32"):
                findings.append(_finding(node, f"{name}: TF32 lowers float32 matmul precision"))
        elif isinstance(node, ast.Call) and (parsed.resolve(node.func) or "") in ("torch.autocast", "torch.cuda.amp.autocast", "torch.cpu.amp.autocast",
                                                                                 "torch.set_float32_matmul_precision", "torch.amp.autocast"):
            findings.append(_finding(node, f"{parsed.resolve(node.func)}() in a float32 spec: a precision downgrade"))
    return findings


_OUTSIDE_CALLS = {"open", "io.open", "os.getenv", "os.open", "os.listdir", "os.scandir", "numpy.load", "torch.load", "pickle.load",
                  "pickle.loads", "pathlib.Path", "os.getenvb", "shutil.copyfile", "urllib.request.urlopen", "eval", "exec",
                  "__import__", "importlib.import_module"}
_OUTSIDE_MODULES = ("socket", "urllib", "http", "requests", "ftplib", "pickle", "shelve")


@_python
def outside_access(parsed, spec):
    """Files, environment, network and dynamic code: open(), os.environ, socket, pickle, eval/exec."""
    findings = []
    for node in ast.walk(parsed.tree):
        if isinstance(node, ast.Call) and (parsed.resolve(node.func) or "") in _OUTSIDE_CALLS:
            findings.append(_finding(node, f"the candidate calls {parsed.resolve(node.func)}() (files, environment, network or dynamic code)"))
        elif isinstance(node, ast.Attribute) and (parsed.resolve(node) or "") in ("os.environ", "os.environb", "sys.argv"):
            findings.append(_finding(node, f"the candidate reads {parsed.resolve(node)}"))
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            modules = [alias.name for alias in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            for module in modules:
                if module.split(".")[0] in _OUTSIDE_MODULES:
                    findings.append(_finding(node, f"the candidate imports {module} (network or serialized data)"))
    return findings


@_python
def result_caching(parsed, spec):
    """State kept between calls: functools caches, globals or class attributes written in forward, self.<attr> set outside __init__."""
    findings = []
    for node in ast.walk(parsed.tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for decorator in node.decorator_list:
                name = parsed.resolve(decorator.func if isinstance(decorator, ast.Call) else decorator) or ""
                if name.split(".")[-1] in ("cache", "lru_cache", "cached_property", "memoize"):
                    findings.append(_finding(decorator, f"{node.name} is memoized with {name}: results could be reused across calls"))
        if isinstance(node, ast.Call) and (parsed.resolve(node.func) or "").split(".")[-1] in ("lru_cache", "cache") and \
                (parsed.resolve(node.func) or "").startswith("functools"):
            findings.append(_finding(node, "functools caching in the candidate: results could be reused across calls"))
    for method in parsed.methods():
        for node in ast.walk(method):
            if isinstance(node, (ast.Global, ast.Nonlocal)):
                findings.append(_finding(node, f"{method.name} writes module-level state ({', '.join(node.names)}): results could be reused across calls"))
            targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, (ast.AugAssign, ast.AnnAssign)) else []
            for target in targets:
                root = target.value if isinstance(target, ast.Subscript) else target
                dotted = _dotted(root) or ""
                if isinstance(root, ast.Attribute) and (dotted.startswith(("self.", "ModelNew.", "cls.")) or dotted.startswith("type(")):
                    findings.append(_finding(node, f"{method.name} stores {dotted} between calls: results could be reused"))
                elif isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name) and target.value.id not in \
                        {argument.arg for argument in method.args.args} and _module_level(parsed, target.value.id):
                    findings.append(_finding(node, f"{method.name} writes into the module-level {target.value.id}: results could be reused"))
    return findings


def _module_level(parsed, name):
    return any(isinstance(node, ast.Assign) and any(isinstance(target, ast.Name) and target.id == name for target in node.targets)
               for node in parsed.tree.body)


# name -> (default mode, Python check); C++/CUDA sources go through source_scan.cxx_findings under the same names.
PYTHON_CHECKS = {
    "library_compute": library_compute,
    "reference_reuse": reference_reuse,
    "exception_fallback": exception_fallback,
    "concurrency": concurrency,
    "stream_creation": stream_creation,
    "timer_patching": timer_patching,
    "lazy_output": lazy_output,
    "precision_downgrade": precision_downgrade,
    "outside_access": outside_access,
    "result_caching": result_caching,
}


def make_check(name):
    """The registered check of one name: the Python check for python/triton, the token scan for cpp/cuda."""
    python_check = PYTHON_CHECKS[name]

    def check(source, language, spec):
        if language in PYTHON_LANGUAGES:
            return python_check(source, language, spec)
        if name == "library_compute" and not _custom_kernels_only(spec):
            return []
        if name == "precision_downgrade" and not _float_only(spec):
            return []
        return cxx_findings(name, strip_cxx(source))

    check.__doc__ = python_check.__doc__
    return check


HACK_CHECKS = {name: ("strict", make_check(name)) for name in PYTHON_CHECKS}
