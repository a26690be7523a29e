"""Drives a command in a real pseudo-terminal, like a person at a keyboard (an 'expect' in a few lines).

Usage: python3 pty-drive.py '<json steps>' command [args...]
Each step is {"expect": "text", "timeout": seconds} (wait until the output holds the text, counted
from the previous expect), {"send": "keys"} or {"sleep": seconds}. Prints the whole transcript; exits 0 when every
expectation was met and the command exited 0, 2 when an expectation timed out, else the command's code.
"""
import json
import os
import pty
import re
import select
import sys
import time

steps = json.loads(sys.argv[1])
command = sys.argv[2:]
pid, fd = pty.fork()
if pid == 0:
    os.execvp(command[0], command)

transcript = b""
seen_up_to = 0
ansi = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]")


def plain() -> str:
    return ansi.sub(b"", transcript).decode("utf-8", "replace").replace("\r", "")


def pump(seconds: float) -> bool:
    """Reads whatever the child wrote within `seconds`; False once the child closed the terminal."""
    global transcript
    ready, _, _ = select.select([fd], [], [], seconds)
    if not ready:
        return True
    try:
        data = os.read(fd, 65536)
    except OSError:
        return False
    if not data:
        return False
    transcript += data
    return True


for step in steps:
    if "send" in step:
        os.write(fd, step["send"].encode())
        continue
    if "sleep" in step:
        end = time.time() + step["sleep"]
        while time.time() < end and pump(0.05):
            pass
        continue
    deadline = time.time() + step.get("timeout", 60)
    while True:
        text = plain()
        position = text.find(step["expect"], seen_up_to)
        if position >= 0:
            seen_up_to = position + len(step["expect"])
            break
        if time.time() > deadline or not pump(0.2):
            print(plain())
            print(f"\n[pty-drive] timed out waiting for {step['expect']!r}", file=sys.stderr)
            os.kill(pid, 9)
            sys.exit(2)

deadline = time.time() + 30
status = None
while time.time() < deadline:
    pump(0.1)
    finished, raw = os.waitpid(pid, os.WNOHANG)
    if finished:
        status = os.waitstatus_to_exitcode(raw)
        break
while pump(0.05):
    pass
print(plain())
if status is None:
    os.kill(pid, 9)
    print("[pty-drive] the command did not exit", file=sys.stderr)
    sys.exit(3)
sys.exit(status)
