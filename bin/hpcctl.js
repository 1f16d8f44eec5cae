#!/usr/bin/env node
// hpcctl: the command-line client of hpc-cluster-api. The CLI is TypeScript (cli/); tsx's loader is
// registered in this very process, rather than spawning `node --import tsx`, so SIGINT/SIGTERM reach
// the CLI directly (scancel of a Slurm job running `hpcctl jobs run` cancels the remote job) and there
// is one process to wait for. Paths resolve from this file, so it works from any directory and via npx.
import { register } from "tsx/esm/api";

register();
const { main } = await import(new URL("../cli/main.ts", import.meta.url).href);
await main();
