"""The fitness function: static checks, compile, correctness trials and timing of one candidate, as an EvaluationResult dict.

Everything a verdict rests on is made here, in the trusted runtime: inputs (fresh seeds from the OS), the
clock around each block of calls, and the outputs and inputs read back from buffers this process owns while
the candidate's process is frozen (docs/runtime.md, "Trust boundary").
"""
import os
import time

from ..sandbox import seccomp
from .block_timing import BlockTimer, unwritten_verdict
from .candidate_run import CandidateFailure, CandidateRun, total_time_limit
from .compare import Verdict, check_trial, finite_or_none, output_digest
from .inputs import generate_inputs
from ..sandbox.native_harness import HarnessBuildError, harness_path
from .reference import SpecReferenceError, load_reference, run_reference
from .reference_workers import worker_key
from ..contract.shape_expression import evaluate_shape_expression
from .shared_arena import Layout, SetShape, arena_capacity, fresh_generator
from ..contract.spec import RAGGED_SIZE, evaluation_plan, selected_sizes, with_ragged_size
from .static_checks import rejection_reason, run_static_checks
from .timing import geometric_mean


class Failed(Exception):
    """Stops an evaluation at a stage with a reason (a result, not an error)."""

    def __init__(self, stage, reason, message, log="", mismatch=None):
        super().__init__(message)
        self.stage, self.reason, self.message, self.log, self.mismatch = stage, reason, message, log, mismatch


# Shared buffers per process: at most this much for input sets and as much again for output sets (cpu and GPU host memory).
# Every round rewrites, reads back and compares all of it, so it bounds the runtime's own work per block too.
SET_BUDGET_BYTES = 8 << 20

# A re-timed speed-up further than this factor from the first one is not reproducible: the lower one counts.
TIMING_REPRODUCE_FACTOR = 2.0


def fresh_seed():
    """A 63-bit seed from the OS: the candidate cannot know the inputs before they are written."""
    return int.from_bytes(os.urandom(8), "little") >> 1


def strict_filter_program(sandbox):
    """The candidate-stage system-call filter for the native harness, where the sandbox filters system calls and one is defined."""
    build = getattr(seccomp, "strict_candidate_program", None)
    if build is None or not sandbox.capabilities().get("syscallFilter"):
        return None
    return build()


def start_reference_run(sandbox, platform, spec, options, sizes):
    """A clean Python worker that runs only the spec's reference (never candidate code) on its own shared buffers (room for every size)."""
    return CandidateRun(sandbox, platform, spec, options, total_limit=total_time_limit(options, len(sizes)),
                        arena_bytes=arena_capacity(spec, list(spec["sizes"]), SET_BUDGET_BYTES, SET_BUDGET_BYTES), role="reference")


class Evaluation:
    """One candidate's evaluation; run() returns the EvaluationResult dict."""

    def __init__(self, sandbox, platform, spec, candidate, options, on_stage=None, reference_workers=None):
        self.sandbox, self.platform, self.spec, self.candidate, self.options = sandbox, platform, spec, candidate, options
        self.reference_workers = reference_workers
        self.reference_healthy = True
        self.on_stage = on_stage or (lambda stage: None)
        # Checked sizes (the requested ones plus the ragged size) and timed sizes (the representative ones): docs/runtime.md.
        self.spec = spec = with_ragged_size(spec)
        self.sizes, self.timed_sizes, plan_flags = evaluation_plan(spec, options.get("sizes"))
        self.durations = {}
        self.timing_note = None
        self.reference_run = None
        self.result = {"status": "failed", "stage": "static", "message": "", "log": "", "platform": platform.id,
                       "staticFindings": [], "trials": [], "timings": [], "flags": list(plan_flags)}

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
                run = self._start_candidate(artifact)
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
            if self.reference_run is not None:
                if self.reference_workers is not None:
                    self.reference_workers.check_in(self._reference_key(), self.reference_run, self.reference_healthy)
                else:
                    self.reference_run.close()
        total = time.perf_counter() - started
        self.durations["total"] = total
        measured = sum(self.durations.get(key, 0.0) for key in ("static", "compile", "correctness", "timing"))
        self.durations["overhead"] = max(0.0, total - measured)
        self.result["durations"] = {key: round(value, 4) for key, value in self.durations.items()}
        return self.result

    def _summary(self):
        speedup = self.result.get("speedup")
        text = f"passed {len(self.result['trials'])} trials"
        timed = ", ".join(entry["size"] for entry in self.result["timings"])
        text += f", speed-up {speedup:.2f}x at {timed}" + (" (geomean)" if len(self.result["timings"]) > 1 else "") if speedup else ""
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

    def _start_candidate(self, artifact):
        """The candidate's process: the native harness for cpp on the cpu platform, a Python worker otherwise."""
        language = self.candidate["language"]
        harness = strict = None
        if language == "cpp" and self.platform.id == "cpu":
            try:
                harness = harness_path(self.platform.cache_dir, self.spec)
            except HarnessBuildError as error:
                raise CandidateFailure("runtime_error", str(error)) from error
            strict = strict_filter_program(self.sandbox)
        return CandidateRun(self.sandbox, self.platform, self.spec, self.options, language, artifact,
                            total_limit=total_time_limit(self.options, len(self.sizes)),
                            arena_bytes=arena_capacity(self.spec, self.sizes, SET_BUDGET_BYTES, SET_BUDGET_BYTES), harness=harness, strict_filter=strict)

    def _correctness(self, run, round_index):
        """Trials on every selected size: inputs written and outputs read back by this process, judged against its own reference."""
        reference = load_reference(self.spec["reference"])
        generator = fresh_generator()
        device = self.platform.accelerator
        for size in self.sizes:
            shape = SetShape(self.spec, size)
            layout = Layout(shape, 1, 1)
            run.command(layout.command())
            digests = set()
            for trial in range(self.options["trials"]):
                seed = fresh_seed()
                try:
                    inputs = generate_inputs(self.spec, size, seed)
                    if size == RAGGED_SIZE:
                        # A reference that cannot run at the generated ragged size says nothing about the candidate.
                        expected_early = run_reference(reference, self.spec, inputs)
                except (SpecReferenceError, ValueError, RuntimeError) as error:
                    if size != RAGGED_SIZE:
                        raise
                    self._skip_ragged(error)
                    break
                run.arena.write_inputs(layout, [tensor.unsqueeze(0) for tensor in inputs])
                run.arena.fill_canary(layout, generator)
                if device:
                    run.command("I")
                run.send("R 1 c")
                # The runtime's own reference is computed while the worker runs the trial.
                expected, expected64 = expected_early if size == RAGGED_SIZE else run_reference(reference, self.spec, inputs)
                answer = run.finish()
                if device:
                    run.command("O")
                # The Python worker's own report of outputs that are views of inputs: it can only count against the candidate.
                aliased = [position for position in answer.get("alias") or [] if isinstance(position, int)]
                changed = run.arena.inputs_changed(layout)
                outputs = [(tensor[0], dtype) for tensor, dtype in zip(run.arena.read_outputs(layout), shape.output_dtypes)]
                if changed is not None:
                    verdict = Verdict().fail("input_modified", f"input '{self.spec['inputs'][changed]['name']}' was changed by the call")
                else:
                    # The inputs were compared byte for byte with what this process wrote; the rest of check_trial applies.
                    verdict = check_trial(self.spec, size, outputs, expected, expected64, inputs, [(tensor, tensor.dtype) for tensor in inputs], aliased)
                digest = output_digest([tensor for tensor, _ in outputs])
                if not verdict.passed and verdict.reason in ("wrong_output", "nan_or_inf"):
                    if digest in digests:
                        verdict.reason = "stale_result"
                        verdict.message = f"trial {trial} at size '{size}' returned the same outputs as an earlier trial with different inputs"
                    else:
                        unwritten_verdict(verdict, self.spec, run.arena, layout, 1)
                digests.add(digest)
                entry = {"size": size, "seed": seed, "passed": verdict.passed, "maxAbsError": finite_or_none(verdict.max_abs_error),
                         "maxRelError": finite_or_none(verdict.max_rel_error), "errorRatioVsFp32": finite_or_none(verdict.error_ratio)}
                if verdict.reason:
                    entry["reason"] = verdict.reason
                self.result["trials"].append(entry)
                if not verdict.passed:
                    prefix = "re-verification on fresh inputs: " if round_index else ""
                    raise Failed("correctness", verdict.reason, prefix + verdict.message, "", verdict.mismatch)

    def _skip_ragged(self, error):
        """Records that the generated ragged size was left out because the spec's own reference or inputs fail there."""
        if "ragged-skipped" not in self.result["flags"]:
            self.result["flags"].append("ragged-skipped")
            dimensions = ", ".join(f"{name}={value}" for name, value in self.spec["sizes"][RAGGED_SIZE].items())
            self.timing_note = ((self.timing_note + "; ") if self.timing_note else "") + (
                f"ragged size ({dimensions}) skipped: the reference or its inputs fail there ({str(error)[:200]}); "
                "set raggedSize in the spec")

    def _reference_key(self):
        return worker_key(self.platform, self.spec, self.options)

    def _reference(self):
        if self.reference_run is None:
            def start():
                return start_reference_run(self.sandbox, self.platform, self.spec, self.options, self.sizes)

            if self.reference_workers is None:
                self.reference_run = start()
            else:
                total = total_time_limit(self.options, len(self.sizes))
                self.reference_run = self.reference_workers.check_out(self._reference_key(), start, total)
        return self.reference_run

    def _timed_pair(self, run, size):
        """Candidate and reference blocks alternated on the same fresh inputs, every call checked; a SizeTiming entry."""
        try:
            timer = BlockTimer(self.spec, size, self.options, self.platform.accelerator, SET_BUDGET_BYTES)
            candidate, reference = timer.time_pair(run, self._reference())
        except CandidateFailure as failure:
            # A failure in the middle of a round may leave either worker mid-command: the reference one is not kept.
            self.reference_healthy = False
            raise Failed("timing", failure.reason, failure.message, failure.log) from failure
        except SpecReferenceError as error:
            self.reference_healthy = False
            raise Failed("timing", "runtime_error", f"the reference failed: {error}") from error
        if timer.failure:
            reason, message, mismatch = timer.failure
            raise Failed("timing", reason, message, "", mismatch)
        return {"size": size, "candidate": candidate, "reference": reference,
                "speedup": reference["medianMs"] / max(candidate["medianMs"], 1e-9)}

    def _torch_compile(self, size):
        """torch.compile of the reference, timed alone in the reference worker; None (and a flag) when it does not compile."""
        try:
            return BlockTimer(self.spec, size, self.options, self.platform.accelerator, SET_BUDGET_BYTES).time_alone(self._reference(), "t")
        except CandidateFailure:
            if "torch-compile-failed" not in self.result["flags"]:
                self.result["flags"].append("torch-compile-failed")
            # A failed compile may leave the worker unusable: start a fresh reference worker for what follows.
            self.reference_run.close()
            self.reference_run = None
            return None

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
            for size in self.timed_sizes:
                entry = self._timed_pair(run, size)
                if self.options["compareTorchCompile"]:
                    compiled = self._torch_compile(size)
                    if compiled:
                        entry["torchCompile"] = compiled
                self._add_cost(entry, size)
                above_roofline = self._apply_roofline(entry, size) or above_roofline
                self.result["timings"].append(entry)
            self.result["speedup"] = geometric_mean([entry["speedup"] for entry in self.result["timings"]])
        finally:
            self.durations["timing"] = time.perf_counter() - started
        threshold = self.options["speedupThreshold"]
        if above_roofline or any(entry["speedup"] > threshold for entry in self.result["timings"]) or self.result["speedup"] > threshold:
            # A large speed-up must survive fresh inputs and a second timing before it counts.
            reverify_start = time.perf_counter()
            try:
                self._correctness(run, round_index=1)
            except CandidateFailure as failure:
                raise Failed("correctness", failure.reason, "re-verification: " + failure.message, failure.log) from failure
            finally:
                # Re-verification is correctness work: counted there, not left in the unexplained overhead.
                self.durations["correctness"] = self.durations.get("correctness", 0.0) + time.perf_counter() - reverify_start
            self.result["flags"].append("reverified")
            self._retime(run)

    def _retime(self, run):
        """Times every size again; the lower speed-up of the two counts, and a gap above TIMING_REPRODUCE_FACTOR is flagged."""
        started = time.perf_counter()
        unstable = []
        try:
            for size_index, size in enumerate(self.timed_sizes):
                first = self.result["timings"][size_index]
                second = self._timed_pair(run, size)
                low, high = sorted((first["speedup"], second["speedup"]))
                if high > TIMING_REPRODUCE_FACTOR * low:
                    unstable.append(f"{size}: {first['speedup']:.3g}x then {second['speedup']:.3g}x")
                if second["speedup"] < first["speedup"]:
                    if "torchCompile" in first:
                        second["torchCompile"] = first["torchCompile"]
                    self._add_cost(second, size)
                    self._apply_roofline(second, size)
                    self.result["timings"][size_index] = second
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
    """Times the reference (and torch.compile of it) per size in a reference-only worker: a TimeReferenceResult dict."""
    sizes = selected_sizes(spec, options.get("sizes"))
    try:
        run = start_reference_run(sandbox, platform, spec, options, sizes)
    except CandidateFailure as failure:
        raise SpecReferenceError(f"the reference cannot run: {failure.message}") from failure
    timings = []
    try:
        for size in sizes:
            timer = BlockTimer(spec, size, options, platform.accelerator, SET_BUDGET_BYTES)
            try:
                entry = {"size": size, "reference": timer.time_alone(run, "r")}
            except CandidateFailure as failure:
                raise SpecReferenceError(f"the reference failed at size '{size}': {failure.reason}: {failure.message}") from failure
            if options["compareTorchCompile"]:
                try:
                    entry["torchCompile"] = timer.time_alone(run, "t")
                except CandidateFailure as failure:
                    entry["error"] = f"torch.compile failed: {failure.message}"
                    run.close()
                    run = start_reference_run(sandbox, platform, spec, options, sizes)
            timings.append(entry)
    finally:
        run.close()
    return {"timings": timings}
