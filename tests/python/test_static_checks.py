"""Reward-hack static checks: what each one flags, what it must leave alone, modes and line numbers."""
from kernelevolve_runtime.kernelbench.source_scan import strip_cxx
from kernelevolve_runtime.fitness.static_checks import rejection_reason, run_static_checks

FLOAT = {"inputs": [{"dtype": "float32"}], "outputs": [{"dtype": "float32"}], "constraints": {}}
HALF = {"inputs": [{"dtype": "float16"}], "outputs": [{"dtype": "float16"}], "constraints": {}}
CUSTOM = {**FLOAT, "constraints": {"customKernelsOnly": True}}


def checks(source, language="python", spec=FLOAT, modes=None):
    return [(finding["check"], finding.get("line")) for finding in run_static_checks(source, language, spec, modes)]


def test_aliases_are_resolved_before_library_compute_is_judged():
    source = "import torch.nn.functional as G\nimport torch as T\nclass ModelNew:\n    def forward(self, x):\n        y = T.empty_like(x)\n        return G.gelu(x)\n"
    assert checks(source, spec=CUSTOM) == [("library_compute", 6)]
    assert checks(source, spec=FLOAT) == [], "library compute is only rejected where the spec asks for custom kernels"


def test_allocation_and_metadata_are_not_library_compute():
    source = "import torch\nclass ModelNew:\n    def forward(self, x):\n        out = torch.empty(x.shape, dtype=x.dtype, device=x.device)\n        n = x.numel()\n        return out.view(-1)\n"
    assert checks(source, spec=CUSTOM) == []


def test_module_level_import_guard_is_allowed_but_a_fallback_is_not():
    guarded = "try:\n    import triton\nexcept ImportError:\n    triton = None\n"
    assert checks(guarded) == []
    fallback = "def f(x):\n    try:\n        return g(x)\n    except ImportError:\n        return x\n"
    assert checks(fallback) == [("exception_fallback", 2)]


def test_cxx_comments_and_strings_are_blanked_keeping_lines():
    source = 'int a; // std::thread\n/* getenv(\n */ const char* s = "fork()";\nint b;\n'
    stripped = strip_cxx(source)
    assert stripped.count("\n") == source.count("\n") and "thread" not in stripped and "fork" not in stripped
    assert checks(source, "cpp") == []


def test_cxx_static_functions_and_constants_are_not_caches_but_static_state_is():
    honest = "static inline float f(float x) { return x; }\nstatic const int kBlock = 64;\nstatic constexpr float kScale = 2.0f;\n"
    assert checks(honest, "cpp") == []
    cached = "#include <vector>\nvoid kernel() {\n    static std::vector<float> saved;\n}\n"
    assert checks(cached, "cpp") == [("result_caching", 3)]


def test_precision_check_applies_only_to_float32_specs():
    source = "import torch\nclass ModelNew:\n    def forward(self, x):\n        return x.half().float()\n"
    assert checks(source) == [("precision_downgrade", 4)]
    assert checks(source, spec=HALF) == []
    assert rejection_reason(run_static_checks(source, "python", FLOAT)) == "precision_downgrade"
    assert checks("__half h;", "cuda") == [("precision_downgrade", 1)] and checks("__half h;", "cuda", HALF) == []


def test_modes_warn_and_off_per_check():
    source = "import os\nclass ModelNew:\n    def forward(self, x):\n        return os.environ['X']\n"
    strict = run_static_checks(source, "python", FLOAT)
    assert rejection_reason(strict) == "static_check"
    warned = run_static_checks(source, "python", FLOAT, {"outside_access": "warn"})
    assert [finding["severity"] for finding in warned] == ["warn"] and rejection_reason(warned) is None
    assert run_static_checks(source, "python", FLOAT, {"outside_access": "off"}) == []


def test_self_state_in_init_is_fine_but_not_in_forward():
    source = "class ModelNew:\n    def __init__(self):\n        self.scale = 2\n    def forward(self, x):\n        self.last = x * self.scale\n        return self.last\n"
    assert checks(source) == [("result_caching", 5)]


def test_unparsable_python_is_left_to_the_loader():
    assert checks("def broken(:\n") == []
