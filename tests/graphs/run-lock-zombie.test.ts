/** A run's owner killed with -9 but not yet reaped (a zombie) no longer owns the run: resume may take it over. */
import { spawn } from "node:child_process";
import { hostname } from "node:os";
import { ownerAlive, processStartTime, processState } from "../../graphs/runs/run-lock.js";

it("treats a zombie owner as dead and a live one as alive", async () => {
  // bash starts a background sleep, prints its pid, then becomes `sleep 60` (exec), which never reaps it.
  const holder = spawn("bash", ["-c", "sleep 30 & echo $!; exec sleep 60"], { stdio: ["ignore", "pipe", "ignore"] });
  try {
    const pid = Number(await new Promise<string>((resolve) => holder.stdout!.once("data", (chunk) => resolve(String(chunk).trim()))));
    const owner = { pid, host: hostname(), processStart: processStartTime(pid) };
    expect(ownerAlive(owner as never)).toBe(true);
    process.kill(pid, "SIGKILL");
    const deadline = Date.now() + 5000;
    while (processState(pid) !== "Z" && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(processState(pid)).toBe("Z");
    expect(ownerAlive(owner as never)).toBe(false);
  } finally {
    holder.kill("SIGKILL");
  }
});
