"""`serve`: JSON lines over stdio (core/protocol.ts); requests run concurrently, bounded per platform; logs go to stderr."""
import json
import sys
import threading
import traceback
from concurrent.futures import ThreadPoolExecutor

from .platforms.registry import PLATFORM_CLASSES
from .protocol import BadRequest, parse_request
from .fitness.reference import SpecReferenceError
from .contract.spec import SpecError


class Server:
    """Reads requests from a text stream and writes responses and events to another, one JSON object per line."""

    def __init__(self, runtime, input_stream=None, output_stream=None, max_workers=8):
        self.runtime = runtime
        self.input = input_stream or sys.stdin
        self.output = output_stream or sys.stdout
        self._write_lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="request")

    def _write(self, message):
        line = json.dumps(message, allow_nan=False)
        with self._write_lock:
            self.output.write(line + "\n")
            self.output.flush()

    def _error(self, request_id, code, message):
        self._write({"id": request_id, "ok": False, "error": {"code": code, "message": message}})

    def _check_platform(self, platform_id):
        if platform_id not in PLATFORM_CLASSES:
            raise BadRequest(f"unknown platform '{platform_id}'; known platforms: {', '.join(sorted(PLATFORM_CLASSES))}")

    def _handle(self, request_id, method, params):
        try:
            if method == "hello":
                result = self.runtime.hello()
            elif method == "hardware_profile":
                self._check_platform(params["platform"])
                result = self.runtime.hardware_profile(params["platform"])
            elif method == "evaluate":
                self._check_platform(params["platform"])

                def on_stage(stage):
                    self._write({"event": "stage", "id": request_id, "data": {"stage": stage}})

                result = self.runtime.evaluate(params["spec"], params["platform"], params["candidate"], params["options"],
                                               params.get("cacheDir"), on_stage)
            else:
                self._check_platform(params["platform"])
                result = self.runtime.time_reference(params["spec"], params["platform"], params["options"], params.get("cacheDir"))
            self._write({"id": request_id, "ok": True, "result": result})
        except BadRequest as error:
            self._error(request_id, "bad_request", str(error))
        except (SpecError, SpecReferenceError) as error:
            self._error(request_id, "bad_spec", str(error))
        except Exception as error:  # noqa: BLE001 - an infrastructure failure answers the request instead of killing the runtime
            traceback.print_exc(file=sys.stderr)
            self._error(request_id, "runtime_failure", f"{type(error).__name__}: {error}")

    def serve(self):
        """Runs until `shutdown` or the end of input; in-flight requests finish before it returns."""
        try:
            for line in self.input:
                if not line.strip():
                    continue
                try:
                    message = json.loads(line)
                except ValueError as error:
                    self._error(None, "bad_request", f"not valid JSON: {error}")
                    continue
                try:
                    request_id, method, params = parse_request(message)
                except BadRequest as error:
                    self._error(error.request_id, "bad_request", str(error))
                    continue
                if method == "shutdown":
                    self._pool.shutdown(wait=True)
                    self._write({"id": request_id, "ok": True, "result": {}})
                    return 0
                self._pool.submit(self._handle, request_id, method, params)
            # End of input without `shutdown`: the client is gone (killed, or its pipe closed). Nobody will read the
            # answers, so in-flight evaluations are not waited for: closing the runtime kills their workers now, and
            # queued requests are dropped, so the runtime does not outlive its client by a whole evaluation.
            self.runtime.close()
            self._pool.shutdown(wait=False, cancel_futures=True)
            return 0
        finally:
            self.runtime.close()
