"""Standalone evaluation of candidate files and of a template's instances, on the same code path as `serve`."""
import os
import re

from ..contract.templates import choose_instances, instantiate, parse_template

LANGUAGE_BY_EXTENSION = {".cpp": "cpp", ".cc": "cpp", ".cxx": "cpp", ".cu": "cuda"}


# A top-level `class ModelNew` makes a .py file a KernelBench module, whatever its kernels are written in (@triton.jit too).
_MODEL_NEW = re.compile(r"^class\s+ModelNew\b", re.MULTILINE)


def detect_language(path, source):
    """cpp/cuda by extension; a .py file defining class ModelNew is a KernelBench module (python) even when its kernels
    are @triton.jit; otherwise triton when it uses triton.jit (a `kernel(...)` launcher file), else python."""
    extension = os.path.splitext(path)[1].lower()
    if extension in LANGUAGE_BY_EXTENSION:
        return LANGUAGE_BY_EXTENSION[extension]
    if extension == ".py":
        if _MODEL_NEW.search(source):
            return "python"
        return "triton" if "triton.jit" in source or "@triton" in source else "python"
    raise ValueError(f"{path}: unknown candidate file type '{extension}' (expected .cpp, .cc, .cu or .py)")


def candidate_files(path):
    """The candidate files under a folder (sorted), or the one file given."""
    if os.path.isfile(path):
        return [path]
    if not os.path.isdir(path):
        raise FileNotFoundError(f"{path}: no such file or folder")
    names = sorted(name for name in os.listdir(path) if os.path.splitext(name)[1].lower() in (".cpp", ".cc", ".cxx", ".cu", ".py"))
    if not names:
        raise FileNotFoundError(f"{path}: no candidate files (.cpp, .cc, .cu, .py)")
    return [os.path.join(path, name) for name in names]


def _best(entries, key):
    passed = [entry for entry in entries if entry["result"]["status"] == "passed"]
    if not passed:
        return None
    best = max(passed, key=lambda entry: entry["result"].get("speedup") or 0.0)
    return {key: best[key], "speedup": best["result"].get("speedup")}


def evaluate_files(runtime, spec, platform_id, path, options, report=None):
    """Evaluates every candidate file; returns {spec, platform, results: [{candidate, language, result}], best}."""
    entries = []
    for file_path in candidate_files(path):
        with open(file_path, encoding="utf-8") as handle:
            source = handle.read()
        language = detect_language(file_path, source)
        result = runtime.evaluate(spec, platform_id, {"language": language, "source": source, "compileFlags": []}, options)
        entries.append({"candidate": os.path.basename(file_path), "language": language, "result": result})
        if report:
            report(os.path.basename(file_path), result)
    return {"spec": spec["id"], "platform": platform_id, "results": entries, "best": _best(entries, "candidate")}


def autotune_template(runtime, spec, platform_id, template_path, options, budget, seed=0, report=None):
    """Evaluates the default instance and a seeded random subset of a template's combinations; returns all results and the best."""
    with open(template_path, encoding="utf-8") as handle:
        source = handle.read()
    template = parse_template(source)
    language = detect_language(template_path, source)
    entries = []
    for values in choose_instances(template, budget, seed):
        instance = instantiate(template, values)
        result = runtime.evaluate(spec, platform_id, {"language": language, "source": instance, "compileFlags": []}, options)
        entries.append({"params": values, "result": result})
        if report:
            report(", ".join(f"{name}={value}" for name, value in values.items()), result)
    best = _best(entries, "params")
    if best:
        best["source"] = instantiate(template, best["params"])
    return {"spec": spec["id"], "platform": platform_id, "template": os.path.basename(template_path), "combinations": template.size(),
            "results": entries, "best": best}
