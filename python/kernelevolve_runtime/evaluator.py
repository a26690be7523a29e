"""The fitness function: static checks, compile, correctness trials and timing of one candidate, as an EvaluationResult dict."""
import os
import time

from .arrays import TransferError, expected_bytes, load_tensor
from .candidate_run import CandidateFailure, CandidateRun, total_time_limit
from .compare import check_trial, finite_or_none, output_digest
from .inputs import generate_inputs, output_shapes, trial_seed
from .reference import SpecReferenceError, load_reference, run_reference
from .shape_expression import evaluate_shape_expression
from .spec import selected_sizes
from .static_checks import rejection_reason, run_static_checks
from .timing import check_claimed_samples, geometric_mean, statistics


class Failed(Exception):
    """Stops an evaluation at a stage with a reason (a result, not an error)."""

    def __init__(self, stage, reason, message, log="", mismatch=None):
        super().__init__(message)
        self.stage, self.reason, self.message, self.log, self.mismatch = stage, reason, message, log, mismatch


def _load_all(directory, descriptions, shapes, dtypes):
    tensors = []
    for position, description in enumerate(descriptions):
        shape = shapes[position] if position < len(shapes) else [1]
        dtype = dtypes[position] if position < len(dtypes) else "float64"
        size = expected_bytes(shape, dtype)
        tensors.append(load_tensor(directory, description, max(2 * size, size + (1 << 20))))
    return tensors


# A re-timed speed-up further than this factor from the first one is not reproducible: the lower one counts.
TIMING_REPRODUCE_FACTOR = 2.0


def _timing_command(options, target):
    return {"op": "time", "target": target, "minTimeMs": options["minTimeMs"], "minRepetitions": options["minRepetitions"],
            "maxRepetitions": options["maxRepetitions"]}


def _pair_command(options):
    return {"op": "time_pair", "targets": ["candidate", "reference"], "minTimeMs": options["minTimeMs"],
            "minRepetitions": options["minRepetitions"], "maxRepetitions": options["maxRepetitions"]}


class Evaluation:
    """One candidate's evaluation; run() returns the EvaluationResult dict."""

    def __init__(self, sandbox, platform, spec, candidate, options, on_stage=None):
        self.sandbox, self.platform, self.spec, self.candidate, self.options = sandbox, platform, spec, candidate, options
        self.on_stage = on_stage or (lambda stage: None)
        self.sizes = selected_sizes(spec, options.get("sizes"))
        self.durations = {}
        self.timing_note = None
        self.result = {"status": "failed", "stage": "static", "message": "", "log": "", "platform": platform.id,
                       "staticFindings": [], "trials": [], "timings": [], "flags": []}

    def _stage(self, name):
        self.on_stage(name)
        return time.perf_counter()

    def run(self):
        """Runs every stage; a failure becomes the result's stage, reason, message, log and mismatch."""
        started = time.perf_counter()
        run = None
        try:
            self._static()
            artifact = self._compile()
            stage_start = self._stage("correctness")
            try:
                run = CandidateRun(self.sandbox, self.platform, self.spec, self.options, self.candidate["language"], artifact,
                                   total_limit=total_time_limit(self.options, len(self.sizes)))
                self._correctness(run, round_index=0)
            except CandidateFailure as failure:
                raise Failed("correctness", failure.reason, failure.message, failure.log) from failure
            finally:
                self.durations["correctness"] = time.perf_counter() - stage_start
            skipped = self.platform.timing_skipped() if self.options["timing"] else None
            if skipped:
                self.result["flags"].append("timing-skipped")
            elif self.options["timing"]:
                self._timing(run)
            self.result.update(status="passed", stage="done", message=self._summary() + (f"; timing skipped: {skipped}" if skipped else ""))
        except Failed as failure:
            self.result.update(stage=failure.stage, reason=failure.reason, message=failure.message, log=failure.log[-8000:])
            if failure.mismatch:
                self.result["mismatch"] = failure.mismatch
        finally:
            if run is not None:
                run.close()
        total = time.perf_counter() - started
        self.durations["total"] = total
        measured = sum(self.durations.get(key, 0.0) for key in ("static", "compile", "correctness", "timing"))
        self.durations["overhead"] = max(0.0, total - measured)
        self.result["durations"] = {key: round(value, 4) for key, value in self.durations.items()}
        return self.result

    def _summary(self):
        speedup = self.result.get("speedup")
        text = f"passed {len(self.result['trials'])} trials"
        text += f", speed-up {speedup:.2f}x (geomean over {len(self.result['timings'])} sizes)" if speedup else ""
        return text + (f"; {self.timing_note}" if self.timing_note else "")

    def _static(self):
        started = self._stage("static")
        language = self.candidate["language"]
        findings = run_static_checks(self.candidate["source"], language, self.spec, self.options["staticChecks"])
        self.result["staticFindings"] = findings
        self.durations["static"] = time.perf_counter() - started
        reason = rejection_reason(findings)
        if reason:
            first = next(finding for finding in findings if finding["severity"] == "strict")
            raise Failed("static", reason, first["message"])
        if language not in self.platform.languages:
            raise Failed("static", "unsupported_platform", f"platform {self.platform.id} takes {', '.join(self.platform.languages)}, not {language}")

    def _compile(self):
        started = self._stage("compile")
        try:
            compiled = self.platform.compile(self.candidate, self.options, self.sandbox)
        finally:
            self.durations["compile"] = time.perf_counter() - started
        self.result["compile"] = compiled.summary()
        if compiled.reason:
            raise Failed("compile", compiled.reason, compiled.message, compiled.log)
        return compiled.artifact

    def _correctness(self, run, round_index):
        """Trials on every selected size; the worker's outputs are judged here against the runtime's own reference."""
        reference = load_reference(self.spec["reference"])
        output_dtypes = [tensor["dtype"] for tensor in self.spec["outputs"]]
        input_dtypes = [tensor["dtype"] for tensor in self.spec["inputs"]]
        counter = len(self.result["trials"])
        for size_index, size in enumerate(self.sizes):
            digests = set()
            for trial in range(self.options["trials"]):
                seed = trial_seed(self.options["seed"], size_index, trial, round_index)
                run.send({"op": "trial", "size": size, "seed": seed, "index": counter, "reuse": trial % 2 == 1})
                # The runtime's own inputs and reference are computed while the worker runs the trial.
                inputs = generate_inputs(self.spec, size, seed)
                expected, expected64 = run_reference(reference, self.spec, inputs)
                answer, _ = run.finish()
                counter += 1
                device_type = self.platform.device_type
                if any(device.split(":")[0] != device_type for device in answer.get("devices", [])):
                    raise Failed("correctness", "wrong_device", f"outputs on {answer['devices']}, expected {device_type}")
                try:
                    outputs = _load_all(run.directory, answer.get("outputs", []), output_shapes(self.spec, size), output_dtypes)
                    inputs_after = _load_all(run.directory, answer.get("inputs", []), [list(tensor.shape) for tensor in inputs], input_dtypes)
                except TransferError as error:
                    raise Failed("correctness", "wrong_shape", f"an output could not be read back: {error}") from error
                verdict = check_trial(self.spec, size, outputs, expected, expected64, inputs, inputs_after, answer.get("alias") or [])
                digest = output_digest([tensor for tensor, _ in outputs])
                if not verdict.passed and verdict.reason in ("wrong_output", "nan_or_inf") and digest in digests:
                    verdict.reason = "stale_result"
                    verdict.message = f"trial {trial} at size '{size}' returned the same outputs as an earlier trial with different inputs"
                digests.add(digest)
                entry = {"size": size, "seed": seed, "passed": verdict.passed, "maxAbsError": finite_or_none(verdict.max_abs_error),
                         "maxRelError": finite_or_none(verdict.max_rel_error), "errorRatioVsFp32": finite_or_none(verdict.error_ratio)}
                if verdict.reason:
                    entry["reason"] = verdict.reason
                self.result["trials"].append(entry)
                for name in os.listdir(run.directory):
                    if name.endswith(".npy"):
                        os.unlink(os.path.join(run.directory, name))
                if not verdict.passed:
                    prefix = "re-verification on fresh inputs: " if round_index else ""
                    raise Failed("correctness", verdict.reason, prefix + verdict.message, "", verdict.mismatch)

    def _timed(self, run, target):
        answer, wall_ms = run.request(_timing_command(self.options, target))
        samples = answer.get("samplesMs")
        problem = check_claimed_samples(samples, wall_ms, self.options["minRepetitions"], self.options["maxRepetitions"],
                                        self.platform.sample_overhead_ms)
        if problem:
            raise Failed("timing", "suspicious_timing", f"{target} timings do not match the wall clock: {problem}")
        return statistics(samples)

    def _timed_pair(self, run, size, size_index):
        """Candidate and reference timed interleaved on the same inputs, after a warm-up of each; a SizeTiming entry."""
        run.request({"op": "prepare", "size": size, "seed": trial_seed(self.options["seed"], size_index, 0, round_index=2)})
        run.request({"op": "warmup", "target": "candidate", "count": self.options["warmup"]})
        run.request({"op": "warmup", "target": "reference", "count": self.options["warmup"]})
        # Each target gets a full step limit for its share of the interleaved loop.
        answer, wall_ms = run.request(_pair_command(self.options), limit=2 * run.time_limit)
        claimed = answer.get("samplesMs")
        if not isinstance(claimed, dict) or not all(isinstance(claimed.get(name), list) for name in ("candidate", "reference")):
            raise Failed("timing", "suspicious_timing", "the worker's timing answer lacks candidate or reference samples")
        candidate, reference = claimed["candidate"], claimed["reference"]
        if len(candidate) != len(reference):
            raise Failed("timing", "suspicious_timing", f"interleaved timing gave {len(candidate)} candidate but {len(reference)} reference samples")
        problem = check_claimed_samples(candidate + reference, wall_ms, 2 * self.options["minRepetitions"], 2 * self.options["maxRepetitions"],
                                        self.platform.sample_overhead_ms)
        if problem:
            raise Failed("timing", "suspicious_timing", f"timings do not match the wall clock: {problem}")
        candidate, reference = statistics(candidate), statistics(reference)
        return {"size": size, "candidate": candidate, "reference": reference,
                "speedup": reference["medianMs"] / max(candidate["medianMs"], 1e-6)}

    def _apply_roofline(self, entry, size):
        verdict = self.platform.roofline_verdict(self.spec, size, entry)
        if not verdict:
            return False
        if verdict.get("fatal"):
            raise Failed("timing", "suspicious_timing", verdict["fatal"])
        if verdict["flag"] not in self.result["flags"]:
            self.result["flags"].append(verdict["flag"])
        return True

    def _timing(self, run):
        started = self._stage("timing")
        above_roofline = False
        try:
            for size_index, size in enumerate(self.sizes):
                entry = self._timed_pair(run, size, size_index)
                if self.options["compareTorchCompile"]:
                    answer = run.request_raw({"op": "warmup", "target": "torch_compile", "count": max(1, self.options["warmup"])})
                    if answer.get("ok"):
                        entry["torchCompile"] = self._timed(run, "torch_compile")
                    elif "torch-compile-failed" not in self.result["flags"]:
                        self.result["flags"].append("torch-compile-failed")
                self._add_cost(entry, size)
                above_roofline = self._apply_roofline(entry, size) or above_roofline
                self.result["timings"].append(entry)
            self.result["speedup"] = geometric_mean([entry["speedup"] for entry in self.result["timings"]])
        except CandidateFailure as failure:
            raise Failed("timing", failure.reason, failure.message, failure.log) from failure
        finally:
            self.durations["timing"] = time.perf_counter() - started
        threshold = self.options["speedupThreshold"]
        if above_roofline or any(entry["speedup"] > threshold for entry in self.result["timings"]) or self.result["speedup"] > threshold:
            # A large speed-up must survive fresh inputs, in the same process, and a second timing before it counts.
            try:
                self._correctness(run, round_index=1)
            except CandidateFailure as failure:
                raise Failed("correctness", failure.reason, "re-verification: " + failure.message, failure.log) from failure
            self.result["flags"].append("reverified")
            self._retime(run)

    def _retime(self, run):
        """Times every size again; the lower speed-up of the two counts, and a gap above TIMING_REPRODUCE_FACTOR is flagged."""
        started = time.perf_counter()
        unstable = []
        try:
            for size_index, size in enumerate(self.sizes):
                first = self.result["timings"][size_index]
                second = self._timed_pair(run, size, size_index)
                low, high = sorted((first["speedup"], second["speedup"]))
                if high > TIMING_REPRODUCE_FACTOR * low:
                    unstable.append(f"{size}: {first['speedup']:.3g}x then {second['speedup']:.3g}x")
                if second["speedup"] < first["speedup"]:
                    if "torchCompile" in first:
                        second["torchCompile"] = first["torchCompile"]
                    self._add_cost(second, size)
                    self._apply_roofline(second, size)
                    self.result["timings"][size_index] = second
        except CandidateFailure as failure:
            raise Failed("timing", failure.reason, "re-timing: " + failure.message, failure.log) from failure
        finally:
            self.durations["timing"] += time.perf_counter() - started
        self.result["speedup"] = geometric_mean([entry["speedup"] for entry in self.result["timings"]])
        self.result["flags"].append("retimed")
        if unstable:
            self.result["flags"].append("timing-unstable")
            self.timing_note = f"timing-unstable: the speed-up did not reproduce within {TIMING_REPRODUCE_FACTOR:g}x ({'; '.join(unstable)}); the lower value counts"

    def _add_cost(self, entry, size):
        cost = self.spec.get("cost") or {}
        seconds = entry["candidate"]["medianMs"] / 1000
        dimensions = self.spec["sizes"][size]
        if cost.get("bytes") and seconds > 0:
            entry["achievedBandwidthGBs"] = evaluate_shape_expression(cost["bytes"], dimensions) / seconds / 1e9
        if cost.get("flops") and seconds > 0:
            entry["achievedTflops"] = evaluate_shape_expression(cost["flops"], dimensions) / seconds / 1e12


def time_reference(sandbox, platform, spec, options):
    """Times the reference (and torch.compile of it) per size in a confined worker: a TimeReferenceResult dict."""
    sizes = selected_sizes(spec, options.get("sizes"))
    try:
        run = CandidateRun(sandbox, platform, spec, options, total_limit=total_time_limit(options, len(sizes)))
    except CandidateFailure as failure:
        raise SpecReferenceError(f"the reference cannot run: {failure.message}") from failure
    timings = []
    try:
        for size_index, size in enumerate(sizes):
            try:
                run.request({"op": "prepare", "size": size, "seed": trial_seed(options["seed"], size_index, 0, round_index=2)})
                run.request({"op": "warmup", "target": "reference", "count": options["warmup"]})
                answer, _ = run.request(_timing_command(options, "reference"))
                entry = {"size": size, "reference": statistics(answer["samplesMs"])}
                if options["compareTorchCompile"]:
                    warm = run.request_raw({"op": "warmup", "target": "torch_compile", "count": max(1, options["warmup"])})
                    if warm.get("ok"):
                        answer, _ = run.request(_timing_command(options, "torch_compile"))
                        entry["torchCompile"] = statistics(answer["samplesMs"])
                    else:
                        entry["error"] = f"torch.compile failed: {warm.get('message')}"
            except CandidateFailure as failure:
                raise SpecReferenceError(f"the reference failed at size '{size}': {failure.reason}: {failure.message}") from failure
            timings.append(entry)
    finally:
        run.close()
    return {"timings": timings}
