import { spawnSync } from "node:child_process";
import {
  GetCommandInvocationCommand,
  type GetCommandInvocationCommandOutput,
  SendCommandCommand,
  SSMClient,
  SSMServiceException,
} from "@aws-sdk/client-ssm";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { createSsmClient } from "#shared/adapters/aws/aws-clients.ts";
import { SLURM_STATES, SlurmSsmScheduler, slurmTime } from "#shared/adapters/aws/slurm-ssm-scheduler.ts";
import type { Cluster } from "#shared/domain/cluster.ts";
import { ClusterSpecSchema } from "#shared/domain/cluster-spec.ts";
import {
  InvalidNextTokenError,
  RequestValidationError,
  ServiceUnavailableError,
  UpstreamError,
} from "#shared/domain/errors.ts";
import type { Job, JobSpec, JobStatus } from "#shared/domain/job.ts";

const REGION = "eu-west-1";
const credentials = { accessKeyId: "test", secretAccessKey: "test" };
const HEAD_NODE = "i-0123456789abcdef0";
const CLUSTER_ID = "01JCLUSTER0000000000000001";

const ssmClient = new SSMClient({ region: REGION, credentials });
const ssm = mockClient(ssmClient);

function cluster(os = "alinux2", overrides: Partial<Cluster> = {}): Cluster {
  return {
    name: "demo",
    clusterId: CLUSTER_ID,
    status: "CREATE_COMPLETE",
    scheduler: "slurm",
    stackName: "hpc-demo",
    createdAt: "2024-05-01T09:00:00.000Z",
    updatedAt: "2024-05-01T09:10:00.000Z",
    createdBy: "alice",
    tags: {},
    config: ClusterSpecSchema.parse({
      sourceFormat: "pcluster3-yaml",
      scheduler: "slurm",
      os,
      headNode: { instanceType: "t3.micro", subnetId: "subnet-0123456789abcdef0" },
      networking: {},
      sharedStorage: [],
      tags: {},
      queues: [
        {
          name: "q",
          capacityType: "ONDEMAND",
          subnetIds: ["subnet-0123456789abcdef0"],
          computeResources: [{ name: "cr", instanceTypes: ["c5.large"], minCount: 0, maxCount: 4 }],
        },
      ],
    }),
    warnings: [],
    outputs: { HeadNodeInstanceId: HEAD_NODE },
    options: { rollbackOnFailure: true },
    version: 3,
    ...overrides,
  };
}

function job(spec: Partial<JobSpec> = {}, overrides: Partial<Job> = {}): Job {
  return {
    jobId: "01JJOB00000000000000000001",
    clusterName: "demo",
    clusterId: CLUSTER_ID,
    name: "my-job_1",
    status: "SUBMITTED",
    spec: { command: ["echo", "hello"], environment: {}, dependsOn: [], ...spec },
    scheduler: "slurm",
    attempts: [],
    createdAt: "2024-05-01T10:00:00.000Z",
    updatedAt: "2024-05-01T10:00:00.000Z",
    createdBy: "alice",
    version: 1,
    ...overrides,
  };
}

/** What the head node answers to each command, in order. */
interface Outcome {
  readonly exitCode?: number;
  readonly stdout?: string;
  readonly stderr?: string;
}

/** SSM answering the n-th SendCommand with the n-th outcome. */
function headNodeAnswers(...outcomes: Outcome[]): void {
  let sent = 0;
  ssm.on(SendCommandCommand).callsFake(async () => ({ Command: { CommandId: `cmd-${++sent}` } }));
  ssm.on(GetCommandInvocationCommand).callsFake(async (input: { CommandId: string }) => {
    const outcome = outcomes[Number(input.CommandId.slice(4)) - 1] ?? {};
    const exitCode = outcome.exitCode ?? 0;
    return {
      Status: exitCode === 0 ? "Success" : "Failed",
      ResponseCode: exitCode,
      StandardOutputContent: outcome.stdout ?? "",
      StandardErrorContent: outcome.stderr ?? "",
    } satisfies Partial<GetCommandInvocationCommandOutput>;
  });
}

function sent(index = 0): string[] {
  return ssm.commandCalls(SendCommandCommand)[index]?.args[0].input.Parameters?.commands ?? [];
}

/** The batch script a submit carried, decoded from the one base64 literal of its commands. */
function carriedScript(commands: readonly string[]): string {
  const literal = /printf %s '([A-Za-z0-9+/=]*)'/.exec(commands.join("\n"))?.[1];
  if (literal === undefined) throw new Error("no base64 payload in the commands");
  return Buffer.from(literal, "base64").toString("utf8");
}

const sleeps: number[] = [];
const jobs = new Map<string, string>([["01JDEPENDENCY0000000000001", "4100"]]);

function scheduler(options: { cluster?: Cluster; commandWaitMs?: number } = {}): SlurmSsmScheduler {
  const target = options.cluster ?? cluster();
  return new SlurmSsmScheduler({
    ssm: ssmClient,
    getCluster: async (name) => (name === target.name ? target : undefined),
    resolveExternalId: async (_cluster, jobId) => jobs.get(jobId),
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    clock: { now: () => new Date("2024-05-01T12:00:00.000Z") },
    ...(options.commandWaitMs !== undefined ? { commandWaitMs: options.commandWaitMs } : {}),
  });
}

beforeEach(() => {
  ssm.reset();
  sleeps.length = 0;
});

describe("createSsmClient", () => {
  it("honours the endpoint, region and attempts it is given", async () => {
    const client = createSsmClient({
      endpoint: "http://127.0.0.1:5000",
      region: REGION,
      credentials,
      maxAttempts: 2,
    });
    expect(await client.config.region()).toBe(REGION);
    expect(await client.config.maxAttempts()).toBe(2);
    client.destroy();
  });
});

describe("slurmTime", () => {
  it("writes seconds as days-hours:minutes:seconds", () => {
    expect(slurmTime(60)).toBe("0-00:01:00");
    expect(slurmTime(93_784)).toBe("1-02:03:04");
  });
});

describe("submit", () => {
  it("sends a fixed sbatch command to the head node and returns the id sbatch --parsable printed", async () => {
    headNodeAnswers({ stdout: "4242;demo\n" });

    const result = await scheduler().submit(job(), cluster());

    expect(result).toEqual({ externalId: "4242" });
    const input = ssm.commandCalls(SendCommandCommand)[0]?.args[0].input;
    expect(input).toMatchObject({ InstanceIds: [HEAD_NODE], DocumentName: "AWS-RunShellScript" });
    const commands = sent().map((line) => line.replace(/'[A-Za-z0-9+/=]{16,}'/, "'<script>'"));
    expect(commands).toEqual([
      "set -eu",
      "runuser -u ec2-user -- mkdir -p /home/ec2-user/.hpc-cluster-api/jobs",
      "cd /home/ec2-user/.hpc-cluster-api/jobs",
      "f=$(runuser -u ec2-user -- mktemp /home/ec2-user/.hpc-cluster-api/jobs/submit.XXXXXXXXXX)",
      `trap 'rm -f "$f"' EXIT`,
      `printf %s '<script>' | base64 -d | runuser -u ec2-user -- tee "$f" > /dev/null`,
      `runuser -u ec2-user -- /opt/slurm/bin/sbatch --parsable "$f"`,
    ]);
  });

  it("builds the sbatch options from the typed fields, as directives inside the script", async () => {
    headNodeAnswers({ stdout: "4243\n" });

    await scheduler().submit(
      job({
        arraySize: 8,
        nodes: 2,
        timeoutSeconds: 3_600,
        vcpus: 1.5,
        memoryMiB: 2048,
        dependsOn: [{ jobId: "01JDEPENDENCY0000000000001", type: "N_TO_N" }],
      }),
      cluster(),
    );

    const script = carriedScript(sent());
    expect(script.split("\n").filter((line) => line.startsWith("#SBATCH"))).toEqual([
      "#SBATCH --job-name=my-job_1",
      "#SBATCH --chdir=/home/ec2-user",
      "#SBATCH --output=/home/ec2-user/.hpc-cluster-api/jobs/%A_%a.out",
      "#SBATCH --array=0-7",
      "#SBATCH --nodes=2",
      "#SBATCH --time=0-01:00:00",
      "#SBATCH --cpus-per-task=2",
      "#SBATCH --mem=2048M",
      "#SBATCH --dependency=aftercorr:4100",
      "#SBATCH --kill-on-invalid-dep=yes",
    ]);
    expect(script).toContain('export AWS_BATCH_JOB_ARRAY_INDEX="$SLURM_ARRAY_TASK_ID"');
    expect(script.trimEnd().split("\n").at(-1)).toBe("exec 'echo' 'hello'");
  });

  it("waits for an afterok dependency and runs as the OS's user on Ubuntu", async () => {
    headNodeAnswers({ stdout: "4244\n" });
    const ubuntu = cluster("ubuntu2204");

    await scheduler({ cluster: ubuntu }).submit(
      job({ dependsOn: [{ jobId: "01JDEPENDENCY0000000000001" }] }),
      ubuntu,
    );

    expect(sent().at(-1)).toBe(`runuser -u ubuntu -- /opt/slurm/bin/sbatch --parsable "$f"`);
    expect(carriedScript(sent())).toContain("#SBATCH --dependency=afterok:4100\n");
  });

  it("polls the command's result with growing waits until it is done", async () => {
    ssm.on(SendCommandCommand).resolves({ Command: { CommandId: "cmd-1" } });
    ssm
      .on(GetCommandInvocationCommand)
      .rejectsOnce(
        new SSMServiceException({
          name: "InvocationDoesNotExist",
          message: "",
          $fault: "client",
          $metadata: {},
        }),
      )
      .resolvesOnce({ Status: "InProgress" })
      .resolvesOnce({ Status: "Success", ResponseCode: 0, StandardOutputContent: "77\n" });

    await expect(scheduler().submit(job(), cluster())).resolves.toEqual({ externalId: "77" });
    expect(sleeps).toEqual([250, 500, 1_000]);
  });

  it("gives up after the wait budget with ServiceUnavailableError, saying the outcome is unknown", async () => {
    ssm.on(SendCommandCommand).resolves({ Command: { CommandId: "cmd-1" } });
    ssm.on(GetCommandInvocationCommand).resolves({ Status: "InProgress" });

    const error = await scheduler({ commandWaitMs: 5_000 })
      .submit(job(), cluster())
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ServiceUnavailableError);
    // sbatch may still run: whoever retries on their own would submit twice.
    expect((error as ServiceUnavailableError).notApplied).toBe(false);
    expect(sleeps.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(5_000);
    expect(sleeps.reduce((a, b) => a + b, 0)).toBeLessThan(7_000);
  });

  it("turns sbatch's refusal into a 400 carrying its message", async () => {
    headNodeAnswers({
      exitCode: 1,
      stderr: "sbatch: error: Batch job submission failed: Invalid job array specification",
    });
    const error = await scheduler()
      .submit(job({ arraySize: 5_000 }), cluster())
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RequestValidationError);
    expect((error as Error).message).toContain("Invalid job array specification");
  });

  it("says a busy Slurm did nothing only when it refused outright, not when sbatch timed out", async () => {
    const busy = async (stderr: string) => {
      ssm.reset();
      headNodeAnswers({ exitCode: 1, stderr });
      return (await scheduler()
        .submit(job(), cluster())
        .catch((e: unknown) => e)) as ServiceUnavailableError;
    };

    const refused = await busy(
      "sbatch: error: Batch job submission failed: Slurm temporarily unable to accept job",
    );
    const timedOut = await busy(
      "sbatch: error: Batch job submission failed: Socket timed out on send/recv operation",
    );

    expect(refused).toBeInstanceOf(ServiceUnavailableError);
    expect(refused.notApplied).toBe(true);
    expect(timedOut).toBeInstanceOf(ServiceUnavailableError);
    expect(timedOut.notApplied).toBe(false); // the job may be queued: retrying could submit it twice
  });

  it("never calls a failed status read 'not applied': the command is on its way", async () => {
    ssm.on(SendCommandCommand).resolves({ Command: { CommandId: "cmd-1" } });
    ssm
      .on(GetCommandInvocationCommand)
      .rejects(Object.assign(new Error("Rate exceeded"), { name: "ThrottlingException" }));

    const error = await scheduler()
      .submit(job(), cluster())
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ServiceUnavailableError);
    expect((error as ServiceUnavailableError).notApplied).toBe(false);
  });

  it("refuses what only AWS Batch has, and unknown dependencies, without sending anything", async () => {
    for (const [spec, path] of [
      [{ image: "alpine" }, "body.image"],
      [{ logGroup: "/x" }, "body.logGroup"],
      [{ retryStrategy: { attempts: 3 } }, "body.retryStrategy"],
      [{ dependsOn: [{ jobId: "01JUNKNOWN0000000000000001" }] }, "body.dependsOn[0].jobId"],
      [{ environment: { SLURM_JOB_ID: "1" } }, "body.environment.SLURM_JOB_ID"],
      [{ command: ["-rf"] }, "body.command[0]"],
    ] as [Partial<JobSpec>, string][]) {
      const error = await scheduler()
        .submit(job(spec), cluster())
        .catch((e: unknown) => e);
      expect((error as RequestValidationError).issues?.map((i) => i.path)).toContain(path);
    }
    expect(ssm.commandCalls(SendCommandCommand)).toHaveLength(0);
  });

  it("says so when the cluster has no head node instance id", async () => {
    const headless = cluster("alinux2", { outputs: {} });
    await expect(scheduler({ cluster: headless }).submit(job(), headless)).rejects.toBeInstanceOf(
      UpstreamError,
    );
  });

  it("names the head node when SSM cannot reach it", async () => {
    ssm
      .on(SendCommandCommand)
      .rejects(
        new SSMServiceException({ name: "InvalidInstanceId", message: "", $fault: "client", $metadata: {} }),
      );
    const error = await scheduler()
      .submit(job(), cluster())
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UpstreamError);
    expect((error as Error).message).toContain(HEAD_NODE);
  });
});

describe("shellSafe: no user string reaches a command line", () => {
  // Harmless if they ever ran (the quoting test below does run the script): they only print.
  const HOSTILE = [
    "x'; echo INJECTED-1; echo '",
    "$(echo INJECTED-2)",
    "`echo INJECTED-3`",
    "a; echo INJECTED-4",
    "first line\nsecond line; echo INJECTED-5",
    'it\'s "quoted" $HOME \\ back',
  ];

  it("sends environment values, argv, script and input URI only as base64 data", async () => {
    const hostileJob = job({
      command: undefined,
      script: HOSTILE.join("\n"),
      environment: Object.fromEntries(HOSTILE.map((value, i) => [`V${i}`, value])),
      inputUri: `s3://bucket/${HOSTILE[0]}`,
    });
    const benignJob = job({ command: undefined, script: "true", environment: { V0: "x" } });
    headNodeAnswers({ stdout: "1\n" }, { stdout: "2\n" });

    await scheduler().submit(hostileJob, cluster());
    await scheduler().submit(benignJob, cluster());

    const text = sent(0).join("\n");
    for (const value of HOSTILE) {
      expect(text).not.toContain(value);
      for (const part of value.split("\n")) expect(text).not.toContain(part);
    }
    // The commands of a hostile job and a benign one differ only in the base64 literal.
    const template = (lines: string[]) => lines.map((l) => l.replace(/'[A-Za-z0-9+/=]+'/, "'<data>'"));
    expect(template(sent(0))).toEqual(template(sent(1)));
  });

  it("quotes every value so that the shell on the node gets it back byte for byte", async () => {
    headNodeAnswers({ stdout: "1\n" });
    const environment = Object.fromEntries(HOSTILE.map((value, i) => [`V${i}`, value]));

    await scheduler().submit(job({ environment, command: ["printf", "%s\\n", ...HOSTILE] }), cluster());

    const script = carriedScript(sent());
    const exports =
      script
        .split("\nexec ")[0]
        ?.split("\n")
        .filter((line) => !line.startsWith("#")) ?? [];
    const dump = HOSTILE.map((_, i) => `printf '%s\\0' "$V${i}"`).join("; ");
    const run = spawnSync("/bin/sh", ["-c", `${exports.join("\n")}\n${dump}`], { encoding: "utf8" });
    expect(run.stdout.split("\0").slice(0, HOSTILE.length)).toEqual(HOSTILE);
    const argv = spawnSync("/bin/sh", ["-c", script.replace(/^#.*$/gm, "")], { encoding: "utf8" });
    expect(argv.stdout).toBe(`${HOSTILE.join("\n")}\n`);
  });

  it("refuses names that would have to be quoted, before anything is sent", async () => {
    for (const name of HOSTILE) {
      await expect(scheduler().submit(job({}, { name }), cluster())).rejects.toBeInstanceOf(
        RequestValidationError,
      );
      await expect(
        scheduler().submit(job({ environment: { [name]: "v" } }), cluster()),
      ).rejects.toBeInstanceOf(RequestValidationError);
    }
    expect(ssm.commandCalls(SendCommandCommand)).toHaveLength(0);
  });

  it("never puts a Slurm id that is not a number into a command", async () => {
    const forged = job({}, { externalId: "1; reboot", status: "RUNNING" });
    await scheduler().cancel(forged, "stop");
    expect(await scheduler().describe([forged])).toEqual([]);
    expect(await scheduler().logs(forged, { limit: 10 })).toEqual({ lines: [] });
    expect(ssm.commandCalls(SendCommandCommand)).toHaveLength(0);
  });
});

describe("describe", () => {
  const table: [string, JobStatus][] = [
    ["PENDING", "RUNNABLE"],
    ["CONFIGURING", "STARTING"],
    ["RUNNING", "RUNNING"],
    ["COMPLETING", "RUNNING"],
    ["COMPLETED", "SUCCEEDED"],
    ["FAILED", "FAILED"],
    ["TIMEOUT", "FAILED"],
    ["NODE_FAIL", "FAILED"],
    ["OUT_OF_MEMORY", "FAILED"],
    ["CANCELLED", "CANCELLED"],
  ];

  for (const [state, status] of table) {
    it(`maps Slurm's ${state} to ${status}`, async () => {
      headNodeAnswers({ stdout: `Q|101|${state}|None|2024-05-01T10:00:00|2024-05-01T10:30:00\n` });

      const [observation] = await scheduler().describe([job({}, { externalId: "101", status: "RUNNABLE" })]);

      expect(observation?.status).toBe(status);
      expect(SLURM_STATES[state]?.status).toBe(status);
      if (status === "FAILED") expect(observation?.statusReason).toContain(state);
    });
  }

  it("sends squeue per id and sacct for all, and reads a finished job from sacct with its exit code", async () => {
    headNodeAnswers({
      stdout: [
        "Q|101|RUNNING|None|2024-05-01T10:00:00|2024-05-01T11:00:00",
        "S|101|RUNNING|0:0|2024-05-01T10:00:00|Unknown",
        "S|102|FAILED|3:0|2024-05-01T10:00:00|2024-05-01T10:05:00",
        "Q|103|PENDING|Resources|N/A|N/A",
      ].join("\n"),
    });

    const observations = await scheduler().describe([
      job({}, { jobId: "J101", externalId: "101", status: "RUNNABLE" }),
      job({}, { jobId: "J102", externalId: "102", status: "RUNNING" }),
      job({}, { jobId: "J103", externalId: "103" }),
      job({}, { jobId: "J104", externalId: "104" }),
    ]);

    const commands = sent().join("\n");
    expect(commands).toContain("for j in 101 102 103 104; do runuser -u ec2-user -- /opt/slurm/bin/squeue");
    expect(commands).toContain(
      "/opt/slurm/bin/sacct --noheader --parsable2 --allocations --jobs=101,102,103,104",
    );
    expect(observations).toEqual([
      {
        jobId: "J101",
        externalId: "101",
        status: "RUNNING",
        attempts: [
          { startedAt: "2024-05-01T10:00:00Z", logStream: "/home/ec2-user/.hpc-cluster-api/jobs/101.out" },
        ],
        startedAt: "2024-05-01T10:00:00Z",
        time: "2024-05-01T12:00:00.000Z",
      },
      {
        jobId: "J102",
        externalId: "102",
        status: "FAILED",
        statusReason: "FAILED: the job exited with a non-zero code (exit code 3)",
        attempts: [
          {
            startedAt: "2024-05-01T10:00:00Z",
            stoppedAt: "2024-05-01T10:05:00Z",
            exitCode: 3,
            statusReason: "FAILED: the job exited with a non-zero code (exit code 3)",
            logStream: "/home/ec2-user/.hpc-cluster-api/jobs/102.out",
          },
        ],
        startedAt: "2024-05-01T10:00:00Z",
        stoppedAt: "2024-05-01T10:05:00Z",
        time: "2024-05-01T12:00:00.000Z",
      },
      {
        jobId: "J103",
        externalId: "103",
        status: "RUNNABLE",
        statusReason: "Waiting in Slurm: Resources",
        attempts: [],
        time: "2024-05-01T12:00:00.000Z",
      },
    ]);
  });

  it("settles an array job from its tasks' counts", async () => {
    headNodeAnswers(
      { stdout: "SA|201|COMPLETED|3\nSA|201|RUNNING|1\nSA|201|PENDING|1\n" },
      { stdout: "SA|201|COMPLETED|4\nSA|201|FAILED|1\n" },
    );
    const array = job({ arraySize: 5 }, { externalId: "201", status: "RUNNING" });

    const [running] = await scheduler().describe([array]);
    const [failed] = await scheduler().describe([array]);

    expect(running).toMatchObject({ status: "RUNNING", arrayProgress: { SUCCEEDED: 3 } });
    expect(failed).toMatchObject({ status: "FAILED", arrayProgress: { SUCCEEDED: 4, FAILED: 1 } });
  });

  it("leaves out jobs of another incarnation of the cluster and jobs Slurm no longer knows", async () => {
    headNodeAnswers({ stdout: "" });
    const observations = await scheduler().describe([
      job({}, { externalId: "301", clusterId: "01JOLDCLUSTER0000000000001" }),
    ]);
    expect(observations).toEqual([]);
    expect(ssm.commandCalls(SendCommandCommand)).toHaveLength(0);
    expect(await scheduler().describe([job({}, { externalId: "302" })])).toEqual([]);
  });
});

describe("cancel", () => {
  it("runs scancel on the job's Slurm id as the cluster's user", async () => {
    headNodeAnswers({});
    await scheduler().cancel(job({}, { externalId: "4242", status: "RUNNING" }), "Cancelled by alice");
    expect(sent()).toEqual(["runuser -u ec2-user -- /opt/slurm/bin/scancel 4242"]);
  });

  it("leaves a job that already finished alone", async () => {
    headNodeAnswers({
      exitCode: 1,
      stderr: "scancel: error: Kill job error on job id 4242: Job/step already completing or completed",
    });
    await expect(scheduler().cancel(job({}, { externalId: "4242" }), "x")).resolves.toBeUndefined();
  });

  it("reports any other scancel failure", async () => {
    headNodeAnswers({ exitCode: 1, stderr: "scancel: error: Unable to contact slurm controller" });
    await expect(scheduler().cancel(job({}, { externalId: "4242" }), "x")).rejects.toBeInstanceOf(
      UpstreamError,
    );
  });
});

describe("logs", () => {
  const finished = job({}, { externalId: "4242", status: "SUCCEEDED" });

  it("reads lines from the job's output file with tail and head, and pages by line number", async () => {
    headNodeAnswers({ stdout: "one\ntwo\n" }, { stdout: "three\n" });

    const first = await scheduler().logs(finished, { limit: 2 });
    const second = await scheduler().logs(finished, { limit: 2, nextToken: first.nextToken });

    expect(first.lines).toEqual([{ message: "one" }, { message: "two" }]);
    expect(second).toEqual({ lines: [{ message: "three" }] });
    const file = "/home/ec2-user/.hpc-cluster-api/jobs/4242.out";
    expect(sent(0)).toEqual([
      `runuser -u ec2-user -- test -r ${file} || exit 3`,
      `runuser -u ec2-user -- tail -n +1 ${file} | head -n 2 | cut -c 1-4000 | head -c 20000`,
    ]);
    expect(sent(1)[1]).toContain("tail -n +3 ");
  });

  it("answers no lines before the output file exists, and none for an array parent", async () => {
    headNodeAnswers({ exitCode: 3 });
    expect(await scheduler().logs(finished, { limit: 5 })).toEqual({ lines: [] });
    expect(await scheduler().logs(job({ arraySize: 3 }, { externalId: "9" }), { limit: 5 })).toEqual({
      lines: [],
    });
    expect(ssm.commandCalls(SendCommandCommand)).toHaveLength(1);
  });

  it("keeps a running job's unfinished last line for the next read", async () => {
    headNodeAnswers({ stdout: "done\nhalf a li" });
    const page = await scheduler().logs(job({}, { externalId: "4242", status: "RUNNING" }), { limit: 10 });
    expect(page).toEqual({ lines: [{ message: "done" }] });
  });

  it("refuses a token issued for another job", async () => {
    headNodeAnswers({ stdout: "a\n" });
    const { nextToken } = await scheduler().logs(finished, { limit: 1 });
    await expect(
      scheduler().logs(job({}, { externalId: "9999", status: "SUCCEEDED" }), { limit: 1, nextToken }),
    ).rejects.toBeInstanceOf(InvalidNextTokenError);
  });
});
