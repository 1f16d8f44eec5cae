import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { chmod, type FileHandle, mkdir, open, readdir, readFile, rename, writeFile } from "node:fs/promises";
import { constants as osConstants } from "node:os";
import { join, posix } from "node:path";
import {
  BATCH_EVENT_SOURCE,
  BATCH_JOB_STATE_CHANGE,
  type BatchAttemptDetail,
  type BatchJobDetail,
  HPC_CLUSTER_PARAMETER,
  HPC_JOB_ID_PARAMETER,
  observationFromBatchEvent,
} from "../../domain/batch-job-event.ts";
import type { Cluster } from "../../domain/cluster.ts";
import { InvalidNextTokenError } from "../../domain/errors.ts";
import {
  isTerminalJob,
  JOB_STATUSES,
  type Job,
  type JobObservation,
  type JobSpec,
  type JobStatus,
} from "../../domain/job.ts";
import { type AttemptCause, decideAfterAttempt, TIMEOUT_STATUS_REASON } from "../../domain/job-retry.ts";
import type { Clock } from "../../ports/clock.ts";
import type { JobScheduler, LogLine } from "../../ports/job-scheduler.ts";
import type { LocalEventBus } from "./local-event-bus.ts";

/** Options for {@link LocalJobRunner}. */
export interface LocalJobRunnerOptions {
  /** Jobs live under `<dataDir>/jobs/<jobId>/`: state, script, one log file per attempt. */
  readonly dataDir: string;
  readonly bus: LocalEventBus;
  readonly clock: Clock;
  /** The cluster's maximum vCPUs: jobs beyond it wait in RUNNABLE. Default 4. */
  readonly maxConcurrentVcpus?: (clusterName: string) => number;
  /** Applied to jobs that set no `timeoutSeconds`; none when absent. */
  readonly defaultTimeoutSeconds?: number;
  /**
   * The status of a dependency this runner never ran (e.g. submitted before a data directory was wiped),
   * from the job store. Without it, such a dependency counts as failed.
   */
  readonly lookupStatus?: (clusterName: string, jobId: string) => Promise<JobStatus | undefined>;
  /** How often dependencies from `lookupStatus` are asked again while they run. Default 2 s. */
  readonly dependencyPollMs?: number;
  /** Between SIGTERM and SIGKILL on a timeout or a cancel. Default 5 s, as Batch (ECS) gives. */
  readonly killGraceMs?: number;
  /** Where background failures (a state file that cannot be written) are reported. Default console.error. */
  readonly onError?: (error: unknown, context: string) => void;
}

/** Batch's status reasons, so retry rules written for Batch match the same way here. */
export const LOCAL_JOB_REASONS = {
  exited: "Essential container in task exited",
  timeout: TIMEOUT_STATUS_REASON,
  dependencyFailed: "Dependent Job failed",
  serverStopped: "The local server stopped while the job was running",
} as const;

const ACCOUNT = "000000000000";
const REGION = "local";
const DEFAULT_VCPUS = 4;
const CLOSE_GRACE_MS = 2_000;
const STATE_FILE = "state.json";
/** Job ids become directory names: nothing that could climb out of `jobs/`. */
const SAFE_ID = /^[A-Za-z0-9_-]{1,128}$/;

/** One try, in epoch milliseconds as Batch reports it. */
interface AttemptRecord {
  startedAt?: number;
  stoppedAt?: number;
  exitCode?: number;
  /** Batch's `container.reason`: why the process could not start or what killed it. */
  reason?: string;
  statusReason?: string;
  /** The attempt's log file, relative to the data directory. */
  logStream: string;
}

/** What a job and its array children share. */
interface JobMeta {
  readonly jobId: string;
  readonly clusterName: string;
  readonly name: string;
  readonly jobQueue: string;
  readonly jobDefinition: string;
  readonly spec: JobSpec;
}

/** A dependency on a whole job (`index` absent) or on one child of an array job. */
interface DepRef {
  readonly jobId: string;
  readonly index?: number;
}

/** A process being run for a unit's current attempt. */
interface Running {
  readonly child: ChildProcess;
  cause: AttemptCause;
  readonly exited: Promise<void>;
  readonly timers: NodeJS.Timeout[];
}

/**
 * What the runner schedules: a job, or one child of an array job. An array parent never runs a process
 * itself; its status follows its children.
 */
interface Unit {
  /** The Batch-style id: `<jobId>` or `<jobId>:<index>`. */
  readonly id: string;
  readonly meta: JobMeta;
  readonly index?: number;
  readonly parent?: Unit;
  children?: Unit[];
  /** Children per status, for an array parent. */
  summary?: Record<JobStatus, number>;
  /** FIFO order of submission. */
  seq: number;
  status: JobStatus;
  statusReason?: string;
  createdAt: number;
  startedAt?: number;
  stoppedAt?: number;
  /** Finished attempts, oldest first. */
  attempts: AttemptRecord[];
  /** The attempt now running. */
  current?: AttemptRecord;
  deps: DepRef[];
  cancelReason?: string;
  run?: Running;
  saving: Promise<void>;
  saveQueued: boolean;
}

/** A job's state file. Children keep theirs in `<index>/state.json` and leave `meta` out. */
interface PersistedUnit {
  readonly meta?: JobMeta;
  readonly index?: number;
  readonly seq: number;
  readonly status: JobStatus;
  readonly statusReason?: string;
  readonly createdAt: number;
  readonly startedAt?: number;
  readonly stoppedAt?: number;
  readonly attempts: AttemptRecord[];
  readonly current?: AttemptRecord;
  readonly cancelReason?: string;
  /** An array parent's children per status (their own files are not read again once it ended). */
  readonly summary?: Record<JobStatus, number>;
}

/** A FIFO of units with O(1) removal from the front. */
class UnitQueue {
  #items: Unit[] = [];
  #head = 0;

  push(unit: Unit): void {
    this.#items.push(unit);
  }

  peek(): Unit | undefined {
    return this.#items[this.#head];
  }

  shift(): void {
    this.#head++;
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
  }
}

/**
 * Local mode's `JobScheduler`: runs each job for real as a child process of this server, with AWS Batch's
 * semantics (retry strategy, timeout, array jobs, dependencies, queueing by the cluster's vCPUs) and
 * Batch's "Batch Job State Change" events on the local bus.
 *
 * A `command` is spawned as that argv, without a shell; a `script` is written to `script.sh` and run by
 * `/bin/sh`. Each process leads its own process group, so a timeout or a cancel stops what it started
 * too, and what it leaves behind is killed when it exits, as when a container stops. Every status change
 * is published and written to the job's `state.json` (tmp + rename, queued per job).
 */
export class LocalJobRunner implements JobScheduler {
  readonly #units = new Map<string, Unit>();
  readonly #queues = new Map<string, UnitQueue>();
  readonly #usedVcpus = new Map<string, number>();
  /** Units waiting for each dependency key (`<jobId>` or `<jobId>:<index>`). */
  readonly #waiters = new Map<string, Set<Unit>>();
  /** Units waiting for a dependency only `lookupStatus` knows, and what it said last. */
  readonly #externalWaiters = new Set<Unit>();
  readonly #externalStatus = new Map<string, JobStatus | "MISSING">();
  readonly #jobsDir: string;
  readonly #killGraceMs: number;
  #pollTimer: NodeJS.Timeout | undefined;
  #polling = false;
  #seq = 0;
  #closing = false;
  #loaded: Promise<void> | undefined;
  #resumed: Promise<void> | undefined;

  constructor(private readonly options: LocalJobRunnerOptions) {
    this.#jobsDir = join(options.dataDir, "jobs");
    this.#killGraceMs = options.killGraceMs ?? 5_000;
  }

  /**
   * Loads the jobs of a previous run. Those that were running when it stopped are marked FAILED (their
   * process is gone with the server); those that were waiting are queued again in their original order.
   */
  resume(): Promise<void> {
    this.#resumed ??= this.#resume();
    return this.#resumed;
  }

  /** Stops timers and running processes (SIGTERM, SIGKILL after 2 s); they are marked FAILED at the next resume. */
  async close(): Promise<void> {
    this.#closing = true;
    clearInterval(this.#pollTimer);
    const running = [...this.#units.values()]
      .flatMap((unit) => [unit, ...(unit.children ?? [])])
      .filter((u) => u.run);
    for (const unit of running) {
      const run = unit.run;
      if (!run) continue;
      for (const timer of run.timers) clearTimeout(timer);
      this.#kill(run, "SIGTERM");
      const hard = setTimeout(() => this.#kill(run, "SIGKILL"), CLOSE_GRACE_MS);
      hard.unref();
      run.timers.push(hard);
    }
    await Promise.all(running.map((unit) => unit.run?.exited));
    await Promise.all(
      [...this.#units.values()].flatMap((u) => [u.saving, ...(u.children ?? []).map((c) => c.saving)]),
    );
  }

  async submit(job: Job, cluster: Cluster): Promise<{ readonly externalId: string }> {
    await this.#load();
    if (!SAFE_ID.test(job.jobId)) throw new Error(`Job id '${job.jobId}' cannot name a local job directory.`);
    // Submit is called once per job id; a second call (a retried request) must not run it twice.
    if (this.#units.has(job.jobId)) return { externalId: job.jobId };
    const queueName =
      cluster.outputs?.JobQueueArn ?? `arn:aws:batch:${REGION}:${ACCOUNT}:job-queue/${cluster.name}`;
    const meta: JobMeta = {
      jobId: job.jobId,
      clusterName: cluster.name,
      name: job.name,
      jobQueue: queueName,
      jobDefinition:
        cluster.outputs?.JobDefinitionArn ??
        `arn:aws:batch:${REGION}:${ACCOUNT}:job-definition/${cluster.name}:1`,
      spec: job.spec,
    };
    const unit = this.#newUnit(meta, undefined, undefined, this.#now());
    this.#units.set(unit.id, unit);
    this.#persist(unit);
    await unit.saving;
    // Batch publishes nothing for the submission itself; the first event is PENDING or RUNNABLE.
    setImmediate(() => this.#guard("advance", () => this.#resolve(unit)));
    return { externalId: unit.id };
  }

  async cancel(job: Job, reason: string): Promise<void> {
    await this.#load();
    const unit = this.#units.get(job.externalId ?? job.jobId);
    if (unit) this.#cancelUnit(unit, reason);
  }

  async describe(jobs: readonly Job[]): Promise<JobObservation[]> {
    await this.#load();
    const time = this.#now();
    return jobs.flatMap((job) => {
      const unit = this.#units.get(job.externalId ?? job.jobId);
      const observation = unit && observationFromBatchEvent(this.#detail(unit), new Date(time).toISOString());
      return observation ? [observation] : [];
    });
  }

  async logs(
    job: Job,
    request: { readonly attempt?: number; readonly limit: number; readonly nextToken?: string },
  ): Promise<{ readonly lines: readonly LogLine[]; readonly nextToken?: string }> {
    await this.#load();
    const unit = this.#units.get(job.externalId ?? job.jobId);
    const token = request.nextToken === undefined ? undefined : decodeToken(request.nextToken, job.jobId);
    if (token && request.attempt !== undefined && token.attempt !== request.attempt)
      throw new InvalidNextTokenError();
    const all = unit ? [...unit.attempts, ...(unit.current ? [unit.current] : [])] : [];
    const attemptNumber = token?.attempt ?? request.attempt ?? all.length;
    const attempt = all[attemptNumber - 1];
    if (!unit || !attempt) {
      if (token && token.offset > 0) throw new InvalidNextTokenError();
      return { lines: [] };
    }
    const text = await readFile(join(this.options.dataDir, attempt.logStream), "utf8").catch(() => "");
    const lines = text.split("\n");
    // The last piece is "" after a final newline, or a line still being written: held back until the
    // attempt ends, so a reader paging by line offset never sees half a line.
    const last = lines.pop() ?? "";
    if (last !== "" && attempt !== unit.current) lines.push(last);
    const offset = token?.offset ?? 0;
    if (offset > lines.length) throw new InvalidNextTokenError();
    const end = Math.min(lines.length, offset + Math.max(1, request.limit));
    return {
      lines: lines.slice(offset, end).map((message) => ({ message })),
      ...(end < lines.length ? { nextToken: encodeToken(job.jobId, attemptNumber, end) } : {}),
    };
  }

  // ---- lifecycle ---------------------------------------------------------------------------------------

  #newUnit(meta: JobMeta, parent: Unit | undefined, index: number | undefined, createdAt: number): Unit {
    return {
      id: index === undefined ? meta.jobId : `${meta.jobId}:${index}`,
      meta,
      ...(index === undefined ? {} : { index }),
      ...(parent ? { parent } : {}),
      seq: this.#seq++,
      status: "SUBMITTED",
      createdAt,
      attempts: [],
      deps: [],
      saving: Promise.resolve(),
      saveQueued: false,
    };
  }

  /** Moves a waiting unit on once its dependencies allow: PENDING, then RUNNABLE (or FAILED). */
  #resolve(unit: Unit): void {
    if (this.#closing || (unit.status !== "SUBMITTED" && unit.status !== "PENDING")) return;
    if (unit.parent === undefined && unit.deps.length === 0) unit.deps = this.#jobDeps(unit);
    const verdict = this.#evaluate(unit);
    if (verdict === "failed") {
      this.#setStatus(unit, "FAILED", LOCAL_JOB_REASONS.dependencyFailed);
    } else if (verdict === "wait") {
      if (unit.status === "SUBMITTED") this.#setStatus(unit, "PENDING");
    } else if (unit.meta.spec.arraySize !== undefined && unit.parent === undefined) {
      this.#startArray(unit);
    } else {
      this.#setStatus(unit, "RUNNABLE");
      this.#enqueue(unit);
    }
  }

  /** The dependencies that gate the whole job (N_TO_N ones between two arrays gate each child instead). */
  #jobDeps(unit: Unit): DepRef[] {
    return unit.meta.spec.dependsOn
      .filter((dep) => dep.jobId !== unit.meta.jobId && !this.#isNtoN(unit, dep))
      .map((dep) => ({ jobId: dep.jobId }));
  }

  #isNtoN(unit: Unit, dep: JobSpec["dependsOn"][number]): boolean {
    const other = this.#units.get(dep.jobId);
    return (
      dep.type === "N_TO_N" &&
      unit.meta.spec.arraySize !== undefined &&
      other?.meta.spec.arraySize === unit.meta.spec.arraySize
    );
  }

  #evaluate(unit: Unit): "ready" | "wait" | "failed" {
    let waiting = false;
    for (const dep of unit.deps) {
      // A child of an array that has not created its children yet: wait for that child, or for the
      // whole array to fail before it does.
      const owner = this.#units.get(dep.jobId);
      const known = this.#findUnit(dep) ?? owner;
      const status = known ? known.status : this.#externalStatus.get(dep.jobId);
      if (!known && !this.options.lookupStatus) return "failed";
      if (status === "FAILED" || status === "CANCELLED" || status === "MISSING") return "failed";
      if (status === "SUCCEEDED") continue;
      waiting = true;
      if (known) {
        const keys = dep.index === undefined ? [dep.jobId] : [`${dep.jobId}:${dep.index}`, dep.jobId];
        for (const key of keys) {
          const set = this.#waiters.get(key) ?? new Set<Unit>();
          this.#waiters.set(key, set);
          set.add(unit);
        }
      } else {
        this.#externalWaiters.add(unit);
        this.#armPoll();
      }
    }
    return waiting ? "wait" : "ready";
  }

  #findUnit(dep: DepRef): Unit | undefined {
    const job = this.#units.get(dep.jobId);
    return dep.index === undefined ? job : job?.children?.[dep.index];
  }

  /** Creates the children (`AWS_BATCH_JOB_ARRAY_INDEX` 0..N-1) and queues those that may run. */
  #startArray(parent: Unit): void {
    const size = parent.meta.spec.arraySize ?? 0;
    const sequential = parent.meta.spec.dependsOn.some((dep) => dep.type === "SEQUENTIAL");
    const nToN = parent.meta.spec.dependsOn.filter((dep) => this.#isNtoN(parent, dep));
    parent.summary ??= emptySummary();
    if (!parent.children) {
      const now = this.#now();
      parent.children = Array.from({ length: size }, (_, index) =>
        this.#newUnit(parent.meta, parent, index, now),
      );
      parent.summary.SUBMITTED = size;
    }
    if (parent.status === "SUBMITTED" || parent.status === "PENDING") this.#setStatus(parent, "RUNNABLE");
    for (const child of parent.children) {
      const index = child.index ?? 0;
      child.deps = [
        ...nToN.map((dep) => ({ jobId: dep.jobId, index })),
        ...(sequential && index > 0 ? [{ jobId: parent.meta.jobId, index: index - 1 }] : []),
      ];
      // On resume, a child waiting for its retry goes straight back to the queue.
      if (child.status === "RUNNABLE") this.#enqueue(child);
      else this.#resolve(child);
    }
    this.#refreshParent(parent);
  }

  #enqueue(unit: Unit): void {
    const cluster = unit.meta.clusterName;
    const queue = this.#queues.get(cluster) ?? new UnitQueue();
    this.#queues.set(cluster, queue);
    queue.push(unit);
    this.#pump(cluster);
  }

  /** Starts queued units, oldest first, while the cluster's vCPUs allow; the head waits for room. */
  #pump(cluster: string): void {
    const queue = this.#queues.get(cluster);
    if (!queue || this.#closing) return;
    const max = Math.max(1, this.options.maxConcurrentVcpus?.(cluster) ?? DEFAULT_VCPUS);
    for (let unit = queue.peek(); unit; unit = queue.peek()) {
      if (unit.status !== "RUNNABLE") {
        queue.shift(); // cancelled while it waited
        continue;
      }
      const used = this.#usedVcpus.get(cluster) ?? 0;
      const need = vcpusOf(unit, max);
      if (used > 0 && used + need > max) return;
      queue.shift();
      this.#usedVcpus.set(cluster, used + need);
      this.#guard("start", () => this.#startAttempt(unit, need));
    }
  }

  async #startAttempt(unit: Unit, vcpus: number): Promise<void> {
    const attemptNumber = unit.attempts.length + 1;
    const dir = this.#unitDir(unit);
    const logStream = posix.join(...this.#unitPath(unit), `attempt-${attemptNumber}.log`);
    unit.current = { logStream };
    this.#setStatus(unit, "STARTING");
    const spec = unit.meta.spec;
    let child: ChildProcess;
    let log: FileHandle | undefined;
    try {
      await mkdir(dir, { recursive: true });
      let argv: readonly string[];
      if (spec.script !== undefined) {
        await writeFile(join(dir, "script.sh"), spec.script, { mode: 0o700 });
        await chmod(join(dir, "script.sh"), 0o700);
        argv = ["/bin/sh", "script.sh"];
      } else {
        argv = spec.command ?? [];
      }
      // Stopping: leave it STARTING on disk, which the next resume() fails like a running job.
      if (this.#closing) return;
      log = await open(join(this.options.dataDir, logStream), "a");
      const [file = "", ...args] = argv;
      child = spawn(file, args, {
        shell: false,
        cwd: dir,
        env: this.#environment(unit, attemptNumber),
        stdio: ["ignore", log.fd, log.fd],
        // Its own process group: signals reach what the job started, and a Ctrl-C meant for the
        // server does not kill jobs behind the runner's back (close() stops them).
        detached: true,
      });
    } catch (error) {
      await log?.close().catch(() => undefined);
      this.#usedVcpus.set(unit.meta.clusterName, (this.#usedVcpus.get(unit.meta.clusterName) ?? 0) - vcpus);
      this.#finishAttempt(unit, undefined, `CannotStartContainerError: ${messageOf(error)}`, "exit");
      this.#pump(unit.meta.clusterName);
      return;
    }
    // From here on nothing awaits until the handlers are in place and the status is set: a spawn error
    // and a fast exit are both reported on the next ticks.
    let spawnError: Error | undefined;
    let release: () => void = () => {};
    const run: Running = {
      child,
      cause: unit.cancelReason === undefined ? "exit" : "cancel",
      exited: new Promise<void>((resolve) => {
        release = resolve;
      }),
      timers: [],
    };
    unit.run = run;
    child.on("error", (error) => {
      if (child.pid === undefined) spawnError = error;
    });
    child.on("close", (code, signal) => {
      for (const timer of run.timers) clearTimeout(timer);
      this.#kill(run, "SIGKILL"); // background processes the job left, as a stopped container has none
      unit.run = undefined;
      const cluster = unit.meta.clusterName;
      this.#usedVcpus.set(cluster, (this.#usedVcpus.get(cluster) ?? 0) - vcpus);
      if (spawnError) {
        this.#finishAttempt(unit, undefined, `CannotStartContainerError: ${spawnError.message}`, run.cause);
      } else {
        const exitCode = code ?? (signal ? 128 + (osConstants.signals[signal] ?? 0) : undefined);
        const reason = signal && run.cause === "exit" ? `Killed by signal ${signal}` : undefined;
        this.#finishAttempt(unit, exitCode, reason, run.cause);
      }
      release();
      this.#pump(cluster);
    });
    if (child.pid !== undefined) {
      unit.current.startedAt = this.#now();
      unit.startedAt ??= unit.current.startedAt;
      if (run.cause === "cancel") {
        this.#terminate(run, "cancel");
      } else {
        this.#setStatus(unit, "RUNNING");
        const timeout = spec.timeoutSeconds ?? this.options.defaultTimeoutSeconds;
        if (timeout !== undefined) {
          const timer = setTimeout(() => this.#terminate(run, "timeout"), timeout * 1000);
          timer.unref();
          run.timers.push(timer);
        }
      }
    }
    // The child holds its own copy of the descriptor.
    await log.close();
  }

  #environment(unit: Unit, attemptNumber: number): NodeJS.ProcessEnv {
    const base: Record<string, string> = {};
    for (const name of ["PATH", "HOME", "LANG"]) {
      const value = process.env[name];
      if (value !== undefined) base[name] = value;
    }
    return {
      ...base,
      ...unit.meta.spec.environment,
      AWS_BATCH_JOB_ID: unit.id,
      AWS_BATCH_JOB_ATTEMPT: String(attemptNumber),
      AWS_BATCH_JQ_NAME: unit.meta.jobQueue.split("/").pop() ?? unit.meta.jobQueue,
      ...(unit.index === undefined ? {} : { AWS_BATCH_JOB_ARRAY_INDEX: String(unit.index) }),
      ...(unit.meta.spec.inputUri === undefined ? {} : { HPC_INPUT_URI: unit.meta.spec.inputUri }),
    };
  }

  /** SIGTERM now, SIGKILL after the grace period: how Batch stops a container. */
  #terminate(run: Running, cause: AttemptCause): void {
    if (run.cause === "exit") run.cause = cause;
    this.#kill(run, "SIGTERM");
    const timer = setTimeout(() => this.#kill(run, "SIGKILL"), this.#killGraceMs);
    timer.unref();
    run.timers.push(timer);
  }

  #kill(run: Running, signal: NodeJS.Signals): void {
    const pid = run.child.pid;
    if (pid === undefined) return;
    try {
      process.kill(-pid, signal);
    } catch {
      // The group is gone already (ESRCH): nothing left to stop.
    }
  }

  #finishAttempt(
    unit: Unit,
    exitCode: number | undefined,
    reason: string | undefined,
    ended: AttemptCause,
  ): void {
    // A cancel that arrived while the process was being spawned still counts as the cancel.
    const cause = unit.cancelReason === undefined ? ended : "cancel";
    const attempt: AttemptRecord = unit.current ?? { logStream: "" };
    unit.current = undefined;
    attempt.stoppedAt = this.#now();
    if (exitCode !== undefined) attempt.exitCode = exitCode;
    if (reason !== undefined) attempt.reason = reason;
    if (this.#closing) {
      // The server is stopping: the job stays RUNNING on disk and the next resume() fails it.
      unit.current = attempt;
      this.#persist(unit);
      return;
    }
    const statusReason =
      cause === "timeout"
        ? LOCAL_JOB_REASONS.timeout
        : cause === "cancel"
          ? (unit.cancelReason ?? "Cancelled")
          : LOCAL_JOB_REASONS.exited;
    attempt.statusReason = statusReason;
    unit.attempts.push(attempt);
    const decision = decideAfterAttempt(unit.meta.spec.retryStrategy, {
      ...(exitCode === undefined ? {} : { exitCode }),
      ...(reason === undefined ? {} : { reason }),
      statusReason,
      attemptNumber: unit.attempts.length,
      cause,
    });
    if (cause === "cancel") {
      this.#setStatus(unit, "CANCELLED", statusReason);
    } else if (decision === "SUCCEED") {
      this.#setStatus(unit, "SUCCEEDED", statusReason);
    } else if (decision === "RETRY") {
      this.#setStatus(unit, "RUNNABLE");
      this.#enqueue(unit);
    } else {
      this.#setStatus(unit, "FAILED", statusReason);
    }
  }

  #cancelUnit(unit: Unit, reason: string): void {
    if (isTerminalJob(unit.status) || unit.cancelReason !== undefined) return;
    unit.cancelReason = reason;
    if (unit.children) {
      for (const child of unit.children) this.#cancelUnit(child, reason);
      this.#persist(unit);
      this.#refreshParent(unit);
    } else if (unit.run) {
      this.#terminate(unit.run, "cancel");
    } else if (unit.status === "STARTING") {
      // Spawning: #startAttempt sees cancelReason and stops the process as soon as it exists.
    } else {
      this.#setStatus(unit, "CANCELLED", reason);
    }
  }

  /** Every status change: children counted, state written, event published, waiters and parent told. */
  #setStatus(unit: Unit, status: JobStatus, statusReason?: string): void {
    const parent = unit.parent;
    if (parent?.summary) {
      parent.summary[unit.status]--;
      parent.summary[status]++;
    }
    unit.status = status;
    unit.statusReason = statusReason;
    if (isTerminalJob(status)) unit.stoppedAt = this.#now();
    this.#persist(unit);
    this.#publish(unit);
    if (isTerminalJob(status)) {
      const key = unit.id;
      const waiters = this.#waiters.get(key);
      this.#waiters.delete(key);
      for (const waiter of waiters ?? []) this.#resolve(waiter);
    }
    if (parent) this.#refreshParent(parent);
  }

  /** An array parent is RUNNING once a child runs, and ends when every child has ended. */
  #refreshParent(parent: Unit): void {
    const summary = parent.summary;
    const children = parent.children;
    if (!summary || !children || isTerminalJob(parent.status)) return;
    const ended = summary.SUCCEEDED + summary.FAILED + summary.CANCELLED;
    if (ended === children.length) {
      if (parent.cancelReason !== undefined) this.#setStatus(parent, "CANCELLED", parent.cancelReason);
      else if (summary.SUCCEEDED === children.length) this.#setStatus(parent, "SUCCEEDED");
      else {
        const failed = summary.FAILED + summary.CANCELLED;
        this.#setStatus(parent, "FAILED", `${failed} of ${children.length} array child jobs failed`);
      }
    } else if (parent.status !== "RUNNING" && summary.RUNNING > 0) {
      parent.startedAt ??= this.#now();
      this.#setStatus(parent, "RUNNING");
    }
  }

  // ---- dependencies known only to the job store --------------------------------------------------------

  #armPoll(): void {
    if (this.#pollTimer || this.#closing) return;
    const every = this.options.dependencyPollMs ?? 2_000;
    setImmediate(() => void this.#poll());
    this.#pollTimer = setInterval(() => void this.#poll(), every);
    this.#pollTimer.unref();
  }

  async #poll(): Promise<void> {
    const lookup = this.options.lookupStatus;
    if (this.#polling || !lookup) return;
    this.#polling = true;
    try {
      const waiting = [...this.#externalWaiters].filter(
        (u) => u.status === "SUBMITTED" || u.status === "PENDING",
      );
      this.#externalWaiters.clear();
      const wanted = new Map<string, string>();
      for (const unit of waiting) {
        for (const dep of unit.deps) if (!this.#findUnit(dep)) wanted.set(dep.jobId, unit.meta.clusterName);
      }
      for (const [jobId, cluster] of wanted) {
        try {
          this.#externalStatus.set(jobId, (await lookup(cluster, jobId)) ?? "MISSING");
        } catch (error) {
          this.#report(error, `looking up dependency ${jobId}`); // asked again at the next poll
        }
      }
      for (const unit of waiting) this.#resolve(unit);
    } finally {
      this.#polling = false;
      if (this.#externalWaiters.size === 0) {
        clearInterval(this.#pollTimer);
        this.#pollTimer = undefined;
      }
    }
  }

  // ---- events ------------------------------------------------------------------------------------------

  #publish(unit: Unit): void {
    const detail = this.#detail(unit);
    this.options.bus.publish({
      version: "0",
      id: randomUUID(),
      "detail-type": BATCH_JOB_STATE_CHANGE,
      source: BATCH_EVENT_SOURCE,
      account: ACCOUNT,
      time: new Date(this.#now()).toISOString(),
      region: REGION,
      resources: [detail.jobArn ?? ""],
      detail: { ...detail },
    });
  }

  /** The unit as Batch's `JobDetail` (the detail of its state change event). */
  #detail(unit: Unit): BatchJobDetail {
    const spec = unit.meta.spec;
    const latest = unit.current ?? unit.attempts.at(-1);
    const command = spec.script !== undefined ? ["/bin/sh", "script.sh"] : [...(spec.command ?? [])];
    return {
      jobArn: `arn:aws:batch:${REGION}:${ACCOUNT}:job/${unit.id}`,
      jobName: unit.meta.name,
      jobId: unit.id,
      jobQueue: unit.meta.jobQueue,
      status: unit.status,
      ...(unit.statusReason === undefined ? {} : { statusReason: unit.statusReason }),
      attempts: unit.attempts.map(batchAttempt),
      createdAt: unit.createdAt,
      ...(unit.startedAt === undefined ? {} : { startedAt: unit.startedAt }),
      ...(unit.stoppedAt === undefined ? {} : { stoppedAt: unit.stoppedAt }),
      dependsOn: [
        ...spec.dependsOn.map((dep) => ({ jobId: dep.jobId, ...(dep.type ? { type: dep.type } : {}) })),
      ],
      jobDefinition: unit.meta.jobDefinition,
      parameters: { [HPC_JOB_ID_PARAMETER]: unit.meta.jobId, [HPC_CLUSTER_PARAMETER]: unit.meta.clusterName },
      ...(unit.index !== undefined
        ? { arrayProperties: { index: unit.index } }
        : spec.arraySize !== undefined
          ? {
              arrayProperties: {
                size: spec.arraySize,
                statusSummary: { ...(unit.summary ?? emptySummary()) },
              },
            }
          : {}),
      container: {
        command,
        vcpus: spec.vcpus ?? 1,
        ...(spec.memoryMiB === undefined ? {} : { memory: spec.memoryMiB }),
        ...(latest && !unit.children ? { logStreamName: latest.logStream } : {}),
        ...(latest?.exitCode === undefined || unit.current ? {} : { exitCode: latest.exitCode }),
        ...(latest?.reason === undefined || unit.current ? {} : { reason: latest.reason }),
      },
      retryStrategy: spec.retryStrategy ?? { attempts: 1 },
      ...(spec.timeoutSeconds === undefined
        ? {}
        : { timeout: { attemptDurationSeconds: spec.timeoutSeconds } }),
    };
  }

  // ---- persistence -------------------------------------------------------------------------------------

  #unitPath(unit: Unit): string[] {
    return unit.index === undefined
      ? ["jobs", unit.meta.jobId]
      : ["jobs", unit.meta.jobId, String(unit.index)];
  }

  #unitDir(unit: Unit): string {
    return join(this.options.dataDir, ...this.#unitPath(unit));
  }

  /** Writes the unit's state after any write already queued (tmp + rename); children only once they started. */
  #persist(unit: Unit): void {
    const untouchedChild =
      unit.parent !== undefined &&
      unit.attempts.length === 0 &&
      !unit.current &&
      (unit.status === "SUBMITTED" || unit.status === "PENDING" || unit.status === "RUNNABLE");
    if (untouchedChild || unit.saveQueued) return;
    unit.saveQueued = true;
    unit.saving = unit.saving.then(async () => {
      unit.saveQueued = false;
      const dir = this.#unitDir(unit);
      const state: PersistedUnit = {
        ...(unit.parent ? {} : { meta: unit.meta }),
        ...(unit.index === undefined ? {} : { index: unit.index }),
        seq: unit.seq,
        status: unit.status,
        ...(unit.statusReason === undefined ? {} : { statusReason: unit.statusReason }),
        createdAt: unit.createdAt,
        ...(unit.startedAt === undefined ? {} : { startedAt: unit.startedAt }),
        ...(unit.stoppedAt === undefined ? {} : { stoppedAt: unit.stoppedAt }),
        attempts: unit.attempts,
        ...(unit.current ? { current: unit.current } : {}),
        ...(unit.cancelReason === undefined ? {} : { cancelReason: unit.cancelReason }),
        ...(unit.summary ? { summary: unit.summary } : {}),
      };
      try {
        await mkdir(dir, { recursive: true });
        const file = join(dir, STATE_FILE);
        const tmp = `${file}.${process.pid}.tmp`;
        await writeFile(tmp, JSON.stringify(state));
        await rename(tmp, file);
      } catch (error) {
        this.#report(error, `saving job ${unit.id}`);
      }
    });
  }

  #load(): Promise<void> {
    this.#loaded ??= (async () => {
      await mkdir(this.#jobsDir, { recursive: true });
      const loaded: Unit[] = [];
      for (const entry of await readdir(this.#jobsDir, { withFileTypes: true })) {
        if (!entry.isDirectory() || this.#units.has(entry.name)) continue;
        const state = await readState(join(this.#jobsDir, entry.name));
        if (!state?.meta) continue;
        const unit = this.#restore(state, state.meta, undefined);
        const size = state.meta.spec.arraySize;
        if (size !== undefined && isTerminalJob(state.status)) {
          unit.summary = state.summary ?? emptySummary();
        } else if (size !== undefined && state.status !== "SUBMITTED" && state.status !== "PENDING") {
          unit.summary = emptySummary();
          unit.children = [];
          for (let index = 0; index < size; index++) {
            const saved = await readState(join(this.#jobsDir, entry.name, String(index)));
            const child = saved
              ? this.#restore(saved, state.meta, unit)
              : this.#newUnit(state.meta, unit, index, state.startedAt ?? state.createdAt);
            unit.children.push(child);
            unit.summary[child.status]++;
          }
        }
        this.#units.set(unit.id, unit);
        loaded.push(unit);
      }
      this.#seq = Math.max(this.#seq, ...loaded.map((unit) => unit.seq + 1));
    })();
    return this.#loaded;
  }

  #restore(state: PersistedUnit, meta: JobMeta, parent: Unit | undefined): Unit {
    return {
      id: state.index === undefined ? meta.jobId : `${meta.jobId}:${state.index}`,
      meta,
      ...(state.index === undefined ? {} : { index: state.index }),
      ...(parent ? { parent } : {}),
      seq: state.seq,
      status: JOB_STATUSES.includes(state.status) ? state.status : "FAILED",
      ...(state.statusReason === undefined ? {} : { statusReason: state.statusReason }),
      createdAt: state.createdAt,
      ...(state.startedAt === undefined ? {} : { startedAt: state.startedAt }),
      ...(state.stoppedAt === undefined ? {} : { stoppedAt: state.stoppedAt }),
      attempts: state.attempts,
      ...(state.current ? { current: state.current } : {}),
      ...(state.cancelReason === undefined ? {} : { cancelReason: state.cancelReason }),
      deps: [],
      saving: Promise.resolve(),
      saveQueued: false,
    };
  }

  async #resume(): Promise<void> {
    await this.#load();
    const units = [...this.#units.values()].sort((a, b) => a.seq - b.seq);
    // First settle what the previous run left running, so dependents see its outcome.
    for (const unit of units) {
      for (const child of unit.children ?? []) this.#failInterrupted(child);
      if (!unit.children) this.#failInterrupted(unit);
    }
    for (const unit of units) {
      if (isTerminalJob(unit.status)) continue;
      if (unit.children) {
        if (unit.cancelReason !== undefined) {
          for (const child of unit.children) this.#cancelUnit(child, unit.cancelReason);
        }
        this.#startArray(unit);
      } else if (unit.status === "RUNNABLE") {
        this.#enqueue(unit);
      } else {
        this.#resolve(unit);
      }
    }
  }

  #failInterrupted(unit: Unit): void {
    if (unit.status !== "RUNNING" && unit.status !== "STARTING") return;
    const attempt = unit.current ?? {
      logStream: posix.join(...this.#unitPath(unit), `attempt-${unit.attempts.length + 1}.log`),
    };
    unit.current = undefined;
    attempt.stoppedAt ??= this.#now();
    attempt.statusReason = LOCAL_JOB_REASONS.serverStopped;
    unit.attempts.push(attempt);
    this.#setStatus(unit, "FAILED", LOCAL_JOB_REASONS.serverStopped);
  }

  // ---- helpers -----------------------------------------------------------------------------------------

  #now(): number {
    return this.options.clock.now().getTime();
  }

  #guard(context: string, work: () => void | Promise<void>): void {
    try {
      const result = work();
      if (result instanceof Promise) result.catch((error: unknown) => this.#report(error, context));
    } catch (error) {
      this.#report(error, context);
    }
  }

  #report(error: unknown, context: string): void {
    (this.options.onError ?? ((e, c) => console.error(`local job runner: ${c}:`, e)))(error, context);
  }
}

function emptySummary(): Record<JobStatus, number> {
  return Object.fromEntries(JOB_STATUSES.map((status) => [status, 0])) as Record<JobStatus, number>;
}

/** What a unit takes from the cluster's vCPUs; a job larger than the cluster runs alone rather than never. */
function vcpusOf(unit: Unit, max: number): number {
  return Math.min(max, Math.max(0, unit.meta.spec.vcpus ?? 1));
}

function batchAttempt(attempt: AttemptRecord): BatchAttemptDetail {
  return {
    container: {
      ...(attempt.exitCode === undefined ? {} : { exitCode: attempt.exitCode }),
      ...(attempt.reason === undefined ? {} : { reason: attempt.reason }),
      logStreamName: attempt.logStream,
    },
    ...(attempt.startedAt === undefined ? {} : { startedAt: attempt.startedAt }),
    ...(attempt.stoppedAt === undefined ? {} : { stoppedAt: attempt.stoppedAt }),
    ...(attempt.statusReason === undefined ? {} : { statusReason: attempt.statusReason }),
  };
}

async function readState(dir: string): Promise<PersistedUnit | undefined> {
  try {
    return JSON.parse(await readFile(join(dir, STATE_FILE), "utf8")) as PersistedUnit;
  } catch {
    // Not started yet (children are written once they start), or a file from a crash mid-write.
    return undefined;
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Log page tokens: opaque, and only valid for the job and attempt they were issued for. */
function encodeToken(jobId: string, attempt: number, offset: number): string {
  return Buffer.from(`${jobId}\n${attempt}\n${offset}`).toString("base64url");
}

function decodeToken(token: string, jobId: string): { attempt: number; offset: number } {
  const [id, attempt, offset, ...rest] = Buffer.from(token, "base64url").toString("utf8").split("\n");
  const parsed = { attempt: Number(attempt), offset: Number(offset) };
  if (
    rest.length > 0 ||
    id !== jobId ||
    !Number.isInteger(parsed.attempt) ||
    parsed.attempt < 1 ||
    !Number.isInteger(parsed.offset) ||
    parsed.offset < 0
  ) {
    throw new InvalidNextTokenError();
  }
  return parsed;
}
