"""Timing by the trusted runtime: blocks of calls timed by its own clock, candidate and reference alternated, every call checked.

A block is one exchange with a frozen process: thaw, `R <count>`, answer, freeze. Call i of a block reads input
set i mod S and writes its own output set i (all distinct), so a call that skips, defers or repeats work leaves
a wrong output or a canary somewhere; before every round the input sets get fresh values (a seed from the OS)
and every output set a fresh random canary. The reference runs the same block on the same inputs in its own
clean worker; its outputs are what the candidate's are compared with.
"""
import math
import os

import torch

from .compare import Verdict, check_values, within_tolerance
from .inputs import TORCH_DTYPES, generate_input_sets
from .shared_arena import Layout, SetShape, fresh_generator
from .timing import statistics

# Shortest block worth timing: the exchange (pipe round trip, SIGCONT/SIGSTOP) costs ~0.05 ms on a quiet machine and
# a scheduler wake-up (milliseconds) on a loaded one.
BLOCK_FLOOR_MS = 5.0
# Longest block aimed for; a single call longer than this is a block of one call.
BLOCK_CEILING_MS = 20.0
# Longest block of the slower target (the reference of a much faster candidate): bounds the time spent timing.
SLOWEST_BLOCK_MS = 30.0
# At most this many input sets, and so calls, per block: each round generates, writes, reads back and checks every
# set, which for tiny kernels costs more than the calls (256 sets of a 1000-element vector-add: ~25 ms a round here).
MOST_INPUT_SETS = 256


def _seed():
    return int.from_bytes(os.urandom(8), "little") >> 1


def unwritten_verdict(verdict, spec, arena, layout, sets):
    """Turns a wrong_output/nan_or_inf verdict into unwritten_output where outputs still hold the canary's exact bits.

    Wide dtypes (4 or 8 bytes) count one matching element; narrow ones need 1% of the elements, since random
    bits match an honest 8- or 16-bit value by chance.
    """
    if verdict.passed or verdict.reason not in ("wrong_output", "nan_or_inf"):
        return verdict
    for position, tensor_spec in enumerate(spec["outputs"]):
        unwritten = arena.unwritten(layout, position, sets)
        matches = int(unwritten.sum())
        width = torch.empty(0, dtype=TORCH_DTYPES[tensor_spec["dtype"]]).element_size()
        if matches and (width >= 4 or matches >= 0.01 * unwritten.numel()):
            first = int(torch.nonzero(unwritten.reshape(unwritten.shape[0], -1).any(dim=1))[0, 0])
            verdict.reason = "unwritten_output"
            verdict.message = (f"output '{tensor_spec['name']}': {matches} of {unwritten.numel()} elements were never written "
                               f"(they still hold the runtime's random canary; first in call {first} of its block)")
            return verdict
    return verdict


class BlockTimer:
    """Plans and runs the timed blocks of one size; `failure` holds (reason, message, mismatch) when a block's check failed."""

    def __init__(self, spec, size, options, on_device, budget_bytes):
        self.spec = spec
        self.size = size
        self.options = options
        self.on_device = on_device
        self.shape = SetShape(spec, size)
        self.most_inputs, self.most_outputs = self.shape.most_sets(budget_bytes, budget_bytes)
        self.most_inputs = min(self.most_inputs, MOST_INPUT_SETS)
        per_block = float(options["minTimeMs"]) / max(1, int(options["minRepetitions"]))
        self.target_ns = 1e6 * min(BLOCK_CEILING_MS, max(BLOCK_FLOOR_MS, per_block))
        self.generator = fresh_generator()
        self.failure = None
        self.calls = 1

    def _layout(self, calls, input_sets=None):
        return Layout(self.shape, min(calls, self.most_inputs) if input_sets is None else input_sets, calls)

    def _prepare(self, runs, layout, canary=True):
        """Fresh input sets into every run's buffers (and canaries into the first run's outputs), then the layout's device copies."""
        input_sets = generate_input_sets(self.spec, self.size, _seed(), layout.input_sets)
        for position, run in enumerate(runs):
            run.arena.write_inputs(layout, input_sets)
            if canary and position == 0:
                run.arena.fill_canary(layout, self.generator)
            if self.on_device:
                run.command("I")

    def _set_layout(self, runs, layout):
        for run in runs:
            run.command(layout.command())

    def _calibrate(self, runs, letters):
        """Warm-up calls, then the calls per block that make the fastest target's block about target_ns long."""
        warmup = max(1, int(self.options["warmup"]))
        # Warm-up and calibration read one input set (cheap to write); only the timed rounds need one per call.
        layout = self._layout(min(warmup, self.most_outputs), input_sets=1)
        self._set_layout(runs, layout)
        self._prepare(runs, layout, canary=False)
        for run, letter in zip(runs, letters):
            run.timed(f"R {layout.output_sets} {letter}", limit=run.time_limit * max(1, warmup))
        # Threads alive now (OpenMP's pool, started by the first parallel region) are the baseline; one more later is hidden work.
        self.baseline_threads = runs[0].thread_count()
        # Blocks of 1 (timed twice, the faster counts), 8, 64, ... calls until the calls themselves fill half the target;
        # the per-call cost is the slope between the last two sizes, so the exchange's own cost (a scheduler wake-up can
        # take milliseconds on a loaded machine) is not mistaken for the calls'.
        points = [(1, self._probe(runs, letters, 1))]
        while points[-1][0] < self.most_outputs:
            calls, elapsed = points[-1]
            per_call = self._per_call(points)
            if calls == 1 and min(elapsed) >= SLOWEST_BLOCK_MS * 1e6 / 8:
                break  # one call is long: a block of one call
            if calls > 1 and min(per_call) * calls >= self.target_ns / 2:
                break
            following = min(self.most_outputs, calls * 8)
            if max(per_call) * following > SLOWEST_BLOCK_MS * 1e6:
                break
            points.append((following, self._probe(runs, letters, following)))
        per_call = self._per_call(points)
        # The fastest target's block should reach the target; the slowest one's must stay under SLOWEST_BLOCK_MS.
        wanted = min(math.ceil(self.target_ns / max(1.0, min(per_call))), math.floor(SLOWEST_BLOCK_MS * 1e6 / max(1.0, max(per_call))))
        # No more calls than input sets: every call of a block sees inputs of its own (a sampled hash would find a repeat).
        calls = min(self.most_outputs, self.most_inputs, max(1, wanted))
        self.calls = calls
        layout = self._layout(calls)
        self._set_layout(runs, layout)
        return layout

    def _probe(self, runs, letters, calls):
        """Each target's time (ns) for a block of `calls` calls, all reading one fresh input set (faster of two for one call)."""
        layout = self._layout(calls, input_sets=1)
        self._set_layout(runs, layout)
        self._prepare(runs, layout, canary=False)
        tries = 2 if calls == 1 else 1  # a single call is the one most exposed to a wake-up's delay
        return [max(1, min(run.timed(f"R {calls} {letter}") for _ in range(tries))) for run, letter in zip(runs, letters)]

    @staticmethod
    def _per_call(points):
        """Per-call cost (ns) of each target: the slope between the last two probe sizes (the time per call where it is noise)."""
        calls, elapsed = points[-1]
        if len(points) == 1:
            return [float(value) for value in elapsed]
        before_calls, before = points[-2]
        return [(now - then) / (calls - before_calls) if now > then else now / calls for now, then in zip(elapsed, before)]

    def _enough(self, blocks, total_ms, runs_per_round):
        minimum, maximum = int(self.options["minRepetitions"]), int(self.options["maxRepetitions"])
        return blocks >= maximum or (blocks >= minimum and total_ms >= float(self.options["minTimeMs"]) * runs_per_round)

    def time_pair(self, candidate, reference):
        """(candidate stats, reference stats) per call, from alternating blocks (A B B A ...); stops at the first failed check."""
        layout = self._calibrate([candidate, reference], ["c", "r"])
        baseline_threads = self.baseline_threads
        samples = {"c": [], "r": []}
        total_ms = 0.0
        blocks = 0
        while not self._enough(blocks, total_ms, 2):
            self._prepare([candidate, reference], layout)
            order = [(candidate, "c"), (reference, "r")] if blocks % 2 == 0 else [(reference, "r"), (candidate, "c")]
            for run, letter in order:
                elapsed = run.timed(f"R {layout.output_sets} {letter}")
                samples[letter].append(elapsed / layout.output_sets / 1e6)
                total_ms += elapsed / 1e6
            blocks += 1
            if self.on_device:
                candidate.command("O")
            reference.command("P")
            if self._check(candidate, reference, layout, baseline_threads):
                break
        return statistics(samples["c"]), statistics(samples["r"])

    def time_alone(self, run, letter):
        """Per-call stats of one target (the reference, or torch.compile of it) timed alone in blocks."""
        layout = self._calibrate([run], [letter])
        samples = []
        total_ms = 0.0
        while not self._enough(len(samples), total_ms, 1):
            self._prepare([run], layout, canary=False)
            elapsed = run.timed(f"R {layout.output_sets} {letter}")
            samples.append(elapsed / layout.output_sets / 1e6)
            total_ms += elapsed / 1e6
        return statistics(samples)

    def _check(self, candidate, reference, layout, baseline_threads):
        """Checks one round with the candidate frozen: no new threads, inputs untouched, every output set right; True on failure."""
        threads = candidate.thread_count()
        if threads > baseline_threads:
            self.failure = ("hidden_work", f"the candidate's process had {threads} threads after a timed block, {baseline_threads} after warm-up: "
                                           "work was still running after the calls returned", None)
            return True
        changed = candidate.arena.inputs_changed(layout)
        if changed is not None:
            self.failure = ("input_modified", f"input '{self.spec['inputs'][changed]['name']}' was changed by a timed call", None)
            return True
        expected_sets = reference.arena.read_outputs(layout, sets=layout.input_sets)
        actual = candidate.arena.read_outputs(layout)
        which = torch.arange(layout.output_sets) % layout.input_sets
        verdict = Verdict()
        for position, tensor_spec in enumerate(self.spec["outputs"]):
            expected = expected_sets[position].index_select(0, which)
            if within_tolerance(self.spec, tensor_spec, actual[position], expected):
                continue
            check_values(verdict, self.spec, self.size, tensor_spec, actual[position], expected, None)
            if not verdict.passed:
                break
        if verdict.passed:
            return False
        unwritten_verdict(verdict, self.spec, candidate.arena, layout, layout.output_sets)
        self.failure = (verdict.reason, f"timed block of {layout.output_sets} calls: {verdict.message}", verdict.mismatch)
        return True
