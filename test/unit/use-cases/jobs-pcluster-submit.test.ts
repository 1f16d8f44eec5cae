import { describe, expect, it } from "vitest";
import { ClusterNotFoundError, ClusterNotReadyError, RequestValidationError } from "#shared/domain/errors.ts";
import { decodeScript } from "#shared/http/job-request.ts";
import { makePclusterCommand, type PclusterCommand } from "#shared/use-cases/pcluster-command.ts";
import { makeSubmitJob } from "#shared/use-cases/submit-job.ts";
import { type JobTestDeps, makeJobTestDeps, storeReadyCluster } from "../../support/fakes.ts";

const SCRIPT = "#!/bin/bash\n#SBATCH --ntasks=4\nsrun hostname\n";
const BODY = Buffer.from(SCRIPT, "utf8").toString("base64");

/** The command endpoint with the real submit use case; the cluster verbs are tested elsewhere. */
function endpoint(deps: JobTestDeps) {
  const elsewhere = () =>
    Promise.reject(new Error("cluster commands are tested in pcluster-command.test.ts"));
  return makePclusterCommand(
    {
      createCluster: elsewhere,
      getCluster: elsewhere,
      deleteCluster: elsewhere,
      listClusters: elsewhere,
      submitJob: makeSubmitJob(deps),
      decodeScript: (body) => decodeScript(body, "body"),
    },
    "2.11.9",
  );
}

function submit(overrides: Partial<PclusterCommand> = {}): PclusterCommand {
  return { command: "submit-job", clusterName: "alpha", body: BODY, principal: "alice", ...overrides };
}

async function validationError(promise: Promise<unknown>): Promise<RequestValidationError> {
  const error = await promise.then(
    () => expect.unreachable("the promise resolved"),
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(RequestValidationError);
  return error as RequestValidationError;
}

describe("the pcluster command endpoint's submit-job", () => {
  it("submits the decoded script with the sbatch-style options, answering 202 in sbatch's words", async () => {
    const deps = makeJobTestDeps();
    await storeReadyCluster(deps);

    const result = await endpoint(deps)(
      submit({ additionalParameters: "--job-name sim-1 --array=0-4 -N 2 --time 1:30:00 --nowait" }),
    );

    expect(result.statusCode).toBe(202);
    expect(result.command).toBe("submit-job");
    expect(result.job).toMatchObject({ name: "sim-1", status: "SUBMITTED", createdBy: "alice" });
    expect(result.lines).toEqual([`Submitted batch job ${result.job?.jobId}`]);
    const calls = deps.schedulers.of("alpha").submitCalls;
    expect(calls).toHaveLength(1);
    expect(calls[0]?.job.spec).toEqual({
      script: SCRIPT,
      environment: {},
      dependsOn: [],
      arraySize: 5,
      nodes: 2,
      timeoutSeconds: 5400,
    });
  });

  it("names the job 'job' and sets no options when no flags are given", async () => {
    const deps = makeJobTestDeps();
    await storeReadyCluster(deps);

    const result = await endpoint(deps)(submit());

    expect(result.job?.name).toBe("job");
    expect(result.job?.spec).toEqual({ script: SCRIPT, environment: {}, dependsOn: [] });
  });

  it("refuses submit-job without a cluster_name, naming query.cluster_name", async () => {
    const deps = makeJobTestDeps();
    await storeReadyCluster(deps);

    const error = await validationError(endpoint(deps)(submit({ clusterName: undefined })));

    expect(error.issues).toEqual([
      { path: "query.cluster_name", message: "required for command=submit-job" },
    ]);
    expect(deps.schedulers.of("alpha").submitCalls).toEqual([]);
  });

  it.each([undefined, "", " \n "])("refuses a submit-job whose body is %j, naming body", async (body) => {
    const deps = makeJobTestDeps();
    await storeReadyCluster(deps);

    const error = await validationError(endpoint(deps)(submit({ body })));

    expect(error.issues.map((issue) => issue.path)).toEqual(["body"]);
    expect((await deps.jobs.list("alpha", { limit: 10 })).items).toEqual([]);
  });

  it("refuses a script that is not base64, naming body, and records nothing", async () => {
    const deps = makeJobTestDeps();
    await storeReadyCluster(deps);

    const error = await validationError(endpoint(deps)(submit({ body: SCRIPT })));

    expect(error.issues.map((issue) => issue.path)).toEqual(["body"]);
    expect((await deps.jobs.list("alpha", { limit: 10 })).items).toEqual([]);
    expect(deps.schedulers.of("alpha").submitCalls).toEqual([]);
  });

  it.each(["--partition=gpu", "--job-name 'x;reboot'", "--array 1", "--norollback"])(
    "refuses the flags %j before anything is recorded, naming header.additional_parameters",
    async (additionalParameters) => {
      const deps = makeJobTestDeps();
      await storeReadyCluster(deps);

      const error = await validationError(endpoint(deps)(submit({ additionalParameters })));

      expect(error.issues.map((issue) => issue.path)).toEqual(["header.additional_parameters"]);
      expect((await deps.jobs.list("alpha", { limit: 10 })).items).toEqual([]);
      expect(deps.schedulers.of("alpha").submitCalls).toEqual([]);
    },
  );

  it("answers 404 for a cluster nobody created and 409 for one still being created", async () => {
    const deps = makeJobTestDeps();
    await storeReadyCluster(deps, { name: "young", status: "CREATE_IN_PROGRESS" });
    const pclusterCommand = endpoint(deps);

    await expect(pclusterCommand(submit({ clusterName: "ghost" }))).rejects.toBeInstanceOf(
      ClusterNotFoundError,
    );
    await expect(pclusterCommand(submit({ clusterName: "young" }))).rejects.toBeInstanceOf(
      ClusterNotReadyError,
    );
  });
});
