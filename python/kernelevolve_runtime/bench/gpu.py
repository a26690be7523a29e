"""The GPU benchmark (`python -m kernelevolve_runtime.bench.gpu`): profile, seed correctness, autotuning under a time budget, cheats, summary."""
import argparse
import concurrent.futures
import json
import os
import sys
import time

from ..fitness.autotune import detect_language
from ..gpu.hardware import cuda_device_present, device_copy_bandwidth_curve
from ..contract.spec_files import SEED_SPECS, load_seed_specs
from ..protocol import parse_options
from ..runtime import REPOSITORY_ROOT, Runtime
from ..sandbox.sandbox import Sandbox
from ..fitness.static_checks import CHECKS
from ..contract.templates import choose_instances, instantiate, parse_template

# Sizes for a GPU: ~100-500 MB of traffic (several times the L2) or GEMMs of tens of GFLOP; the specs' own sizes are for CPUs.
GPU_SIZES = {
    "gelu": {"R": 8192, "C": 4096},
    "row-softmax": {"R": 16384, "C": 2048},
    "row-sum-squares": {"R": 32768, "C": 2048},
    "rmsnorm": {"R": 16384, "D": 2048},
    "layernorm": {"R": 16384, "D": 2048},
    "bce-with-logits": {"B": 2097152, "T": 16},
    "embedding-bag-sum": {"V": 1000000, "D": 128, "N": 1048576, "B": 16384},
    "embedding-bag-mean": {"V": 1000000, "D": 128, "N": 1048576, "B": 16384},
    "permute-bhsd-bshd": {"B": 64, "H": 16, "S": 512, "D": 64},
    "dcn-cross": {"B": 16384, "D": 1024},
    "linear-bias-relu": {"M": 8192, "K": 1024, "N": 1024},
    "dlrm-interaction": {"B": 16384, "F": 27, "D": 128},
    "attention-small-heads": {"B": 16, "H": 12, "S": 512, "E": 64},
}
# Below this many FLOP per byte moved a spec counts as memory-bound (its goal is a fraction of the copy bandwidth).
MEMORY_BOUND_INTENSITY = 8.0
EXTENSIONS = {"cuda": ".cu", "triton": ".py"}
CORRECTNESS = {"trials": 2, "timing": False, "timeLimitSeconds": 120}
TIMED = {"trials": 1, "warmup": 3, "minTimeMs": 40, "minRepetitions": 10, "maxRepetitions": 200, "timeLimitSeconds": 120,
         "speedupThreshold": 50}


def with_gpu_size(spec):
    """The spec with a `gpu` size appended (last, so the first size stays the smallest)."""
    spec = dict(spec)
    spec["sizes"] = {**spec["sizes"], "gpu": GPU_SIZES[spec["id"]]}
    return spec


def seed_sources(platform_id, spec_id):
    """(name, source, is_template) for a spec's baseline and template on a platform, where the files exist."""
    folder = os.path.join(REPOSITORY_ROOT, "seeds", "kernels", platform_id, spec_id)
    found = []
    for stem in ("baseline", "template"):
        path = os.path.join(folder, stem + EXTENSIONS[platform_id])
        if os.path.isfile(path):
            with open(path, encoding="utf-8") as handle:
                found.append((f"{platform_id}/{spec_id}/{stem}", handle.read(), stem == "template"))
    return found


def _brief(result):
    entry = {"status": result["status"], "stage": result["stage"], "reason": result.get("reason"), "message": result["message"][:400],
             "flags": result.get("flags", [])}
    if result.get("speedup"):
        entry["speedup"] = result["speedup"]
    for timing in result.get("timings", []):
        entry.setdefault("timings", []).append({key: timing.get(key) for key in ("size", "speedup", "achievedBandwidthGBs", "achievedTflops")}
                                               | {"candidateMs": timing["candidate"]["medianMs"], "referenceMs": timing["reference"]["medianMs"]})
    if result["status"] != "passed" and result.get("log"):
        entry["log"] = result["log"][-1500:]
    return entry


class Bench:
    """One benchmark run: a runtime, the specs with their GPU sizes, a deadline and a log."""

    def __init__(self, specs, platforms, deadline, log, syscall_filter=True, parallel=1):
        # Capacity above 1 only serves the correctness phase (no timing there); autotuning and cheats evaluate one at a time.
        self.parallel = max(1, int(parallel))
        self.runtime = Runtime(sandbox=Sandbox(syscall_filter=syscall_filter), capacities={platform_id: self.parallel for platform_id in platforms})
        self.specs = {spec_id: with_gpu_size(spec) for spec_id, spec in specs.items() if spec_id in GPU_SIZES}
        self.platforms = platforms
        self.deadline = deadline
        self.log = log

    def evaluate(self, spec_id, platform_id, language, source, options):
        """One evaluation through the runtime, logged."""
        started = time.time()
        result = self.runtime.evaluate(self.specs[spec_id], platform_id, {"language": language, "source": source, "compileFlags": []},
                                       parse_options(options))
        self.log(f"{platform_id} {spec_id}: {result['status']} {result.get('reason') or ''} {result['message'][:160]} ({time.time() - started:.1f} s)")
        return result

    def precompile(self, sources):
        """Builds CUDA sources in parallel (the evaluations then hit the compile cache)."""
        platform = self.runtime.platform("cuda")
        options = parse_options({})
        with concurrent.futures.ThreadPoolExecutor(max(1, min(16, (os.cpu_count() or 2)))) as pool:
            list(pool.map(lambda source: platform.compile({"language": "cuda", "source": source, "compileFlags": []}, options,
                                                          self.runtime.sandbox), sources))

    def profile(self):
        """The hardware profile of each platform, with the copy bandwidth at several traffic sizes (measured once)."""
        profile = {platform_id: self.runtime.hardware_profile(platform_id) for platform_id in self.platforms}
        try:
            curve = device_copy_bandwidth_curve()
        except Exception as error:  # noqa: BLE001 - the curve refines the summary; the run goes on without it
            self.log(f"copy bandwidth curve not measured: {type(error).__name__}: {error}")
            return profile
        for entry in profile.values():
            entry["copyBandwidthCurve"] = curve
        return profile

    def correctness(self, budget_seconds):
        """Every baseline and template default on the spec's own sizes, correctness only, `parallel` evaluations at a time
        (no timing in this phase, so they may share the GPU); an item not started before the budget ends is skipped."""
        jobs = []
        for platform_id in self.platforms:
            for spec_id in self.specs:
                for name, source, is_template in seed_sources(platform_id, spec_id):
                    if is_template:
                        template = parse_template(source)
                        source = instantiate(template, template.default())
                    jobs.append((name, platform_id, spec_id, source))
        stop = time.time() + budget_seconds

        def run(job):
            name, platform_id, spec_id, source = job
            if time.time() > stop:
                return {"candidate": name, "status": "skipped", "message": "correctness budget used up"}
            sizes = [size for size in self.specs[spec_id]["sizes"] if size != "gpu"]
            result = self.evaluate(spec_id, platform_id, platform_id, source, {**CORRECTNESS, "sizes": sizes})
            return {"candidate": name, **_brief(result)}

        with concurrent.futures.ThreadPoolExecutor(self.parallel) as pool:
            return list(pool.map(run, jobs))

    def autotune(self, instances_per_template):
        """Round-robin over templates until the deadline: defaults first, then seeded random instances; baselines timed too."""
        queues = []
        for platform_id in self.platforms:
            for spec_id in self.specs:
                for name, source, is_template in seed_sources(platform_id, spec_id):
                    if is_template:
                        template = parse_template(source)
                        instances = [(values, instantiate(template, values)) for values in choose_instances(template, instances_per_template, 0)]
                    else:
                        instances = [(None, source)]
                    queues.append({"name": name, "platform": platform_id, "spec": spec_id, "instances": instances, "results": []})
        if "cuda" in self.platforms:
            # The first rounds in parallel; later instances, reached only with time to spare, compile when evaluated.
            self.precompile([source for queue in queues if queue["platform"] == "cuda" for _, source in queue["instances"][:3]])
        round_index = 0
        while time.time() < self.deadline and any(round_index < len(queue["instances"]) for queue in queues):
            for queue in queues:
                if round_index >= len(queue["instances"]) or time.time() >= self.deadline:
                    continue
                values, source = queue["instances"][round_index]
                result = self.evaluate(queue["spec"], queue["platform"], queue["platform"], source, {**TIMED, "sizes": ["gpu"]})
                queue["results"].append({"params": values, **_brief(result)})
            round_index += 1
        return [{key: queue[key] for key in ("name", "platform", "spec", "results")} for queue in queues]

    def cheats(self, folder):
        """Each GPU cheat, with static checks on (any rejection) and off (the runtime's own checks), against its expected reasons."""
        with open(os.path.join(folder, "expected.json"), encoding="utf-8") as handle:
            expected = json.load(handle)
        off = {name: "off" for name in CHECKS}
        report = []
        for file_name, entry in expected["cheats"].items():
            if entry["platform"] not in self.platforms:
                continue
            with open(os.path.join(folder, file_name), encoding="utf-8") as handle:
                source = handle.read()
            language = detect_language(file_name, source)
            spec_id = expected["spec"]
            options = {"trials": 3, "warmup": 2, "minTimeMs": 20, "minRepetitions": 5, "maxRepetitions": 100,
                       "sizes": list(self.specs[spec_id]["sizes"])[-2:]}
            default = self.evaluate(spec_id, entry["platform"], language, source, options)
            runtime_only = self.evaluate(spec_id, entry["platform"], language, source, {**options, "staticChecks": off})
            report.append({"cheat": file_name, "platform": entry["platform"], "expected": entry["gpu"],
                           "rejected": default["status"] == "failed", "reason": default.get("reason"),
                           "runtimeReason": runtime_only.get("reason"), "runtimeMessage": runtime_only["message"][:300],
                           "ok": default["status"] == "failed" and runtime_only.get("reason") in entry["gpu"]})
        return report

    def close(self):
        """Stops the runtime."""
        self.runtime.close()


def _write(path, value):
    with open(path, "w", encoding="utf-8") as handle:
        if isinstance(value, str):
            handle.write(value)
        else:
            json.dump(value, handle, indent=1, allow_nan=False, default=str)


def main(argv=None):
    """Runs every phase within --budget-seconds and writes profile, correctness, autotune, cheats and summary files under --out."""
    from .summary import markdown, summarize

    parser = argparse.ArgumentParser(prog="python -m kernelevolve_runtime.bench.gpu", description=__doc__)
    parser.add_argument("--out", required=True, help="folder for the result files")
    parser.add_argument("--specs", default=SEED_SPECS, help="the seed specs as JSON (default: contract/seed-specs.json) or a folder of .json specs")
    parser.add_argument("--platforms", default="cuda,triton", help="comma-separated GPU platforms")
    parser.add_argument("--budget-seconds", type=float, default=420, help="wall-time budget of the whole run")
    parser.add_argument("--instances", type=int, default=8, help="most instances per template (default first)")
    parser.add_argument("--correctness-seconds", type=float, default=100, help="budget of the seed-correctness phase")
    parser.add_argument("--parallel", type=int, default=4, help="evaluations at a time in the correctness phase (default 4)")
    parser.add_argument("--only", help="comma-separated spec ids (default: all with a GPU size)")
    parser.add_argument("--no-syscall-filter", action="store_true", help="candidates without the seccomp filter (if a driver needs a denied call)")
    arguments = parser.parse_args(argv)
    started = time.time()
    if not cuda_device_present():
        print("no CUDA GPU on this host: the GPU benchmark needs one (CPU checks: pytest tests/python/test_gpu_*.py test_triton_*.py)", file=sys.stderr)
        return 3
    os.makedirs(arguments.out, exist_ok=True)
    log_handle = open(os.path.join(arguments.out, "log.txt"), "a", encoding="utf-8")

    def log(text):
        line = f"[{time.time() - started:6.1f}s] {text}"
        print(line, file=sys.stderr, flush=True)
        log_handle.write(line + "\n")
        log_handle.flush()

    specs = load_seed_specs(arguments.specs)
    if arguments.only:
        specs = {key: value for key, value in specs.items() if key in arguments.only.split(",")}
    platforms = [name.strip() for name in arguments.platforms.split(",") if name.strip()]
    # Cheats run last but get their time reserved: about 4 s per evaluation, two evaluations per cheat.
    cheat_reserve = 60.0
    bench = Bench(specs, platforms, started + arguments.budget_seconds - cheat_reserve, log, syscall_filter=not arguments.no_syscall_filter,
                  parallel=arguments.parallel)
    try:
        profile = bench.profile()
        _write(os.path.join(arguments.out, "profile.json"), profile)
        log(f"profile: {json.dumps(profile)[:600]}")
        correctness = bench.correctness(arguments.correctness_seconds)
        _write(os.path.join(arguments.out, "correctness.json"), correctness)
        autotune = bench.autotune(arguments.instances)
        _write(os.path.join(arguments.out, "autotune.json"), autotune)
        bench.deadline = started + arguments.budget_seconds
        cheats = bench.cheats(os.path.join(REPOSITORY_ROOT, "tests", "fixtures", "gpu-cheats"))
        _write(os.path.join(arguments.out, "cheats.json"), cheats)
        summary = summarize(bench.specs, profile, correctness, autotune, cheats, MEMORY_BOUND_INTENSITY)
        summary["seconds"] = round(time.time() - started, 1)
        _write(os.path.join(arguments.out, "summary.json"), summary)
        _write(os.path.join(arguments.out, "summary.md"), markdown(summary, profile))
        log(f"done: geomean {summary['geomeanSpeedup']}, cheats {summary['cheats']}, correctness {summary['correctness']['passed']}/"
            f"{summary['correctness']['total']}")
    finally:
        bench.close()
        log_handle.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
