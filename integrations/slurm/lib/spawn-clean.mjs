// spawn-clean.mjs PROGRAM [ARGS...]: runs PROGRAM with an empty signal mask and default signal handlers,
// waits for it, and exits with its exit code. slurmctld runs ResumeProgram with SIGTERM, SIGINT, SIGHUP,
// SIGUSR1... blocked, and exec keeps the mask (a shell cannot unblock signals), so a slurmd started
// straight from resume would never see scancel's or its own shutdown signals. libuv resets the mask and
// the handlers in every child it spawns: that is all this file is for.
import { spawn } from "node:child_process";
import { constants } from "node:os";

const [program, ...args] = process.argv.slice(2);
if (program === undefined) {
  console.error("usage: spawn-clean.mjs PROGRAM [ARGS...]");
  process.exit(2);
}
const child = spawn(program, args, { stdio: ["ignore", "inherit", "inherit"] });
child.on("error", (error) => {
  console.error(`spawn-clean: cannot run ${program}: ${error.message}`);
  process.exit(127);
});
child.on("exit", (code, signal) => {
  process.exit(code ?? 128 + (signal ? constants.signals[signal] : 0));
});
