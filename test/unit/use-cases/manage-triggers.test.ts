// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${input.<field>} placeholders are literal text a rule is created with
import { describe, expect, it } from "vitest";
import { MemoryClusterStore } from "#shared/adapters/local/memory-cluster-store.ts";
import { MemoryTriggerStore } from "#shared/adapters/local/memory-trigger-store.ts";
import {
  ConfigInvalidError,
  type DomainError,
  PayloadTooLargeError,
  RequestValidationError,
  TriggerExistsError,
  TriggerNotFoundError,
} from "#shared/domain/errors.ts";
import type { JobSpec } from "#shared/domain/job.ts";
import {
  type CreateTriggerCommand,
  makeCreateTrigger,
  makeDeleteTrigger,
  makeGetTrigger,
  makeListTriggers,
  type TriggerDeps,
} from "#shared/use-cases/manage-triggers.ts";
import {
  FakeClock,
  FakeJobSchedulers,
  FakeStackProvisioner,
  MINIMAL_SLURM_YAML,
  storeReadyCluster,
} from "../../support/fakes.ts";

interface Deps extends TriggerDeps {
  readonly triggers: MemoryTriggerStore;
  readonly store: MemoryClusterStore;
  readonly provisioner: FakeStackProvisioner;
  readonly schedulers: FakeJobSchedulers;
  readonly clock: FakeClock;
}

function makeDeps(): Deps {
  return {
    triggers: new MemoryTriggerStore(),
    store: new MemoryClusterStore(),
    provisioner: new FakeStackProvisioner(),
    schedulers: new FakeJobSchedulers(),
    clock: new FakeClock("2025-01-15T09:00:00.000Z"),
  };
}

function command(overrides: Partial<CreateTriggerCommand> = {}): CreateTriggerCommand {
  return {
    name: "csv-ingest",
    bucket: "my-data-bucket",
    prefix: "incoming/",
    suffix: ".csv",
    clusterName: "alpha",
    job: {
      name: "ingest-${input.key}",
      spec: { command: ["python3", "/opt/ingest.py", "${input.uri}"], environment: {}, dependsOn: [] },
    },
    mode: "per-object",
    whenDone: "keep",
    principal: "alice",
    ...overrides,
  };
}

function jobWith(spec: Partial<JobSpec>, name = "ingest") {
  return { name, spec: { environment: {}, dependsOn: [], ...spec } };
}

/** Runs `act`, expects it to throw an error of `type`, and returns that error. */
async function rejection<E extends DomainError>(
  act: () => Promise<unknown>,
  type: abstract new (...args: never[]) => E,
): Promise<E> {
  const error = await act().then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(type);
  return error as E;
}

describe("creating a trigger rule", () => {
  it("stores the rule with who created it and when, no failures yet, and warns of nothing when its cluster exists", async () => {
    const deps = makeDeps();
    await storeReadyCluster(deps, { name: "alpha" });

    const { rule, warnings } = await makeCreateTrigger(deps)(command());

    expect(warnings).toEqual([]);
    expect(rule).toMatchObject({
      name: "csv-ingest",
      bucket: "my-data-bucket",
      prefix: "incoming/",
      suffix: ".csv",
      clusterName: "alpha",
      mode: "per-object",
      whenDone: "keep",
      createdAt: "2025-01-15T09:00:00.000Z",
      createdBy: "alice",
      recentFailures: [],
      version: 1,
    });
    expect(await deps.triggers.get("csv-ingest")).toEqual(rule);
  });

  it("checks the job, rendered with a sample input the rule would match, against the existing cluster's scheduler", async () => {
    const deps = makeDeps();
    await storeReadyCluster(deps, { name: "alpha" });

    await makeCreateTrigger(deps)(command());

    const [call] = deps.schedulers.of("alpha").validateCalls;
    expect(deps.schedulers.of("alpha").validateCalls).toHaveLength(1);
    expect(call?.name).toMatch(/^ingest-incoming-/);
    const uri = call?.spec.command?.[2] ?? "";
    expect(uri).toMatch(/^s3:\/\/my-data-bucket\/incoming\/.+\.csv$/);
    expect(call?.spec.inputUri).toBe(uri);
  });

  it("answers the scheduler's refusal as a 400 whose issues name the field under body.job, and writes nothing", async () => {
    const deps = makeDeps();
    await storeReadyCluster(deps, { name: "alpha" });
    deps.schedulers.of("alpha").validateHook = () => {
      throw new RequestValidationError("image does not apply", [
        { path: "body.image", message: "Slurm runs jobs on the nodes' own OS" },
      ]);
    };

    const error = await rejection(
      () => makeCreateTrigger(deps)(command({ job: jobWith({ command: ["true"], image: "busybox" }) })),
      RequestValidationError,
    );

    expect(error.issues).toEqual([
      { path: "body.job.image", message: "Slurm runs jobs on the nodes' own OS" },
    ]);
    expect(error.message).toMatch(/cluster 'alpha' would refuse the job: image does not apply/);
    expect(await deps.triggers.get("csv-ingest")).toBeUndefined();
  });

  it("creates a rule whose cluster does not exist and has no template, with a warning naming clusterName", async () => {
    const deps = makeDeps();

    const { warnings } = await makeCreateTrigger(deps)(command({ clusterName: "nowhere" }));

    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.path).toBe("body.clusterName");
    expect(warnings[0]?.message).toMatch(/No cluster named 'nowhere'/);
    expect(await deps.triggers.get("csv-ingest")).toBeDefined();
  });

  it("warns when another rule on the same cluster keeps it or creates it from another template", async () => {
    const deps = makeDeps();
    const create = makeCreateTrigger(deps);
    const template = (extra: string) => ({
      configuration: `${MINIMAL_SLURM_YAML}${extra}`,
      configurationEncoding: "text" as const,
    });
    await create(command({ name: "keeper", clusterTemplate: template("") }));

    const { warnings } = await create(
      command({ name: "deleter", whenDone: "delete", clusterTemplate: template("\n# another\n") }),
    );
    const quiet = await create(command({ name: "twin", clusterTemplate: template("") }));

    expect(warnings.map((warning) => warning.path).sort()).toEqual(["body.clusterTemplate", "body.whenDone"]);
    expect(warnings.find((warning) => warning.path === "body.whenDone")?.message).toMatch(/Rule 'keeper'/);
    expect(quiet.warnings.filter((warning) => warning.path === "body.whenDone")).toHaveLength(1); // vs deleter
    expect(quiet.warnings.filter((warning) => warning.message.includes("'keeper'"))).toEqual([]);
  });

  it("treats a deleted cluster as absent", async () => {
    const deps = makeDeps();
    await storeReadyCluster(deps, { name: "alpha", status: "DELETE_COMPLETE" });

    const { warnings } = await makeCreateTrigger(deps)(command());

    expect(warnings.map((w) => w.path)).toEqual(["body.clusterName"]);
    expect(deps.schedulers.of("alpha").validateCalls).toEqual([]);
  });

  it("keeps the template's decoded text and checks the job against the cluster the template would make", async () => {
    const deps = makeDeps();
    const checkedOn: { name: string; scheduler: string; queues: string[] }[] = [];
    deps.schedulers.of("alpha").validateHook = (_name, _spec, cluster) => {
      checkedOn.push({
        name: cluster.name,
        scheduler: cluster.scheduler,
        queues: cluster.config.queues.map((queue) => queue.name),
      });
    };

    const { rule, warnings } = await makeCreateTrigger(deps)(
      command({
        clusterTemplate: {
          configuration: Buffer.from(MINIMAL_SLURM_YAML).toString("base64"),
          configurationEncoding: "base64",
        },
      }),
    );

    expect(rule.clusterTemplate).toEqual({ configuration: MINIMAL_SLURM_YAML });
    expect(warnings).toEqual([]);
    expect(deps.provisioner.checkCalls).toHaveLength(1);
    expect(checkedOn).toEqual([{ name: "alpha", scheduler: "slurm", queues: ["compute"] }]);
    expect(await deps.store.get("alpha")).toBeUndefined();
  });

  it("checks the job against both the existing cluster and the template's when there are both", async () => {
    const deps = makeDeps();
    await storeReadyCluster(deps, { name: "alpha" });

    await makeCreateTrigger(deps)(
      command({ clusterTemplate: { configuration: MINIMAL_SLURM_YAML, configurationEncoding: "text" } }),
    );

    expect(deps.schedulers.of("alpha").validateCalls).toHaveLength(2);
  });

  it("passes the template's own warnings on, their paths under body.clusterTemplate.configuration", async () => {
    const deps = makeDeps();

    const { warnings } = await makeCreateTrigger(deps)(
      command({
        clusterTemplate: {
          configuration: `${MINIMAL_SLURM_YAML}Colour: blue\n`,
          configurationEncoding: "text",
        },
      }),
    );

    expect(warnings).toEqual([
      expect.objectContaining({ path: "body.clusterTemplate.configuration.Colour", line: 23 }),
    ]);
  });

  it("refuses a template that does not parse with a 422 whose issues sit under the template's field, lines kept", async () => {
    const deps = makeDeps();

    const error = await rejection(
      () =>
        makeCreateTrigger(deps)(
          command({
            clusterTemplate: {
              configuration: MINIMAL_SLURM_YAML.replace("MaxCount: 4", "MaxCount: ten"),
              configurationEncoding: "text",
            },
          }),
        ),
      ConfigInvalidError,
    );

    expect(error.issues).toEqual([
      expect.objectContaining({
        path: "body.clusterTemplate.configuration.Scheduling.SlurmQueues[0].ComputeResources[0].MaxCount",
        line: 16,
      }),
    ]);
    expect(error.message).toMatch(/^The clusterTemplate cannot create a cluster: /);
    expect(await deps.triggers.get("csv-ingest")).toBeUndefined();
  });

  it("refuses a template that is not base64 when it says it is, naming the template's field", async () => {
    const error = await rejection(
      () =>
        makeCreateTrigger(makeDeps())(
          command({ clusterTemplate: { configuration: "not base64!", configurationEncoding: "base64" } }),
        ),
      RequestValidationError,
    );

    expect(error.issues.map((issue) => issue.path)).toEqual(["body.clusterTemplate.configuration"]);
  });

  it("refuses a template this deployment cannot create, as cluster create would", async () => {
    const deps = makeDeps();
    deps.provisioner.provisionError = new ConfigInvalidError("no Slurm here", [
      { path: "Scheduling.Scheduler", message: "slurm is not available on this deployment" },
    ]);

    const error = await rejection(
      () =>
        makeCreateTrigger(deps)(
          command({ clusterTemplate: { configuration: MINIMAL_SLURM_YAML, configurationEncoding: "text" } }),
        ),
      ConfigInvalidError,
    );

    expect(error.issues).toEqual([
      {
        path: "body.clusterTemplate.configuration.Scheduling.Scheduler",
        message: "slurm is not available on this deployment",
      },
    ]);
    expect(await deps.triggers.get("csv-ingest")).toBeUndefined();
  });

  it("refuses whenDone: delete without a template: the rule could never bring its cluster back", async () => {
    const deps = makeDeps();

    const error = await rejection(
      () => makeCreateTrigger(deps)(command({ whenDone: "delete" })),
      RequestValidationError,
    );

    expect(error.issues).toEqual([
      { path: "body.whenDone", message: "delete requires body.clusterTemplate" },
    ]);
    expect(await deps.triggers.get("csv-ingest")).toBeUndefined();
  });

  it("refuses a rule too large for one stored item with a 413, before writing anything", async () => {
    const deps = makeDeps();
    const script = `#!/bin/sh\n# ${"x".repeat(200 * 1024)}\n`;
    const configuration = `${MINIMAL_SLURM_YAML}\n# ${"y".repeat(200 * 1024)}\n`;

    await rejection(
      () =>
        makeCreateTrigger(deps)(
          command({
            job: jobWith({ script }),
            clusterTemplate: { configuration, configurationEncoding: "text" },
          }),
        ),
      PayloadTooLargeError,
    );
    expect(await deps.triggers.get("csv-ingest")).toBeUndefined();
  });

  it("refuses an unknown ${input.<field>} placeholder with a 400 naming where it is", async () => {
    const deps = makeDeps();

    const error = await rejection(
      () => makeCreateTrigger(deps)(command({ job: jobWith({ command: ["cat", "${input.path}"] }, "j") })),
      RequestValidationError,
    );

    expect(error.issues.map((issue) => issue.path)).toEqual(["body.job.command[1]"]);
    expect(error.issues[0]?.message).toMatch(/\$\{input\.path\}/);
    expect(await deps.triggers.get("csv-ingest")).toBeUndefined();
  });

  it("leaves other ${...} text alone: a shell expansion in an argv element is no placeholder", async () => {
    const deps = makeDeps();

    const { rule } = await makeCreateTrigger(deps)(
      command({ job: jobWith({ command: ["sh", "-c", 'echo "${HOME:-/root}"'] }) }),
    );

    expect(rule.job.spec.command).toEqual(["sh", "-c", 'echo "${HOME:-/root}"']);
  });

  it("refuses a value that no longer fits its field once the sample input is substituted", async () => {
    const deps = makeDeps();
    const long = `${"x".repeat(32_760)}\${input.key}`;

    const error = await rejection(
      () =>
        makeCreateTrigger(deps)(
          command({ job: jobWith({ command: ["true"], environment: { LONG: long } }) }),
        ),
      RequestValidationError,
    );

    expect(error.issues.map((issue) => issue.path)).toEqual(["body.job.environment.LONG"]);
  });

  it("refuses a name another rule holds with TriggerExistsError, and leaves that rule as it was", async () => {
    const deps = makeDeps();
    const create = makeCreateTrigger(deps);
    const { rule: first } = await create(command());

    await rejection(() => create(command({ bucket: "other-bucket" })), TriggerExistsError);

    expect(await deps.triggers.get("csv-ingest")).toEqual(first);
  });
});

describe("reading, listing and deleting trigger rules", () => {
  it("reads a rule by name, and answers an unknown name with TriggerNotFoundError", async () => {
    const deps = makeDeps();
    const { rule } = await makeCreateTrigger(deps)(command());

    expect(await makeGetTrigger(deps)("csv-ingest")).toEqual(rule);
    const error = await rejection(() => makeGetTrigger(deps)("nope"), TriggerNotFoundError);
    expect(error.triggerName).toBe("nope");
  });

  it("lists rules by name, one page at a time", async () => {
    const deps = makeDeps();
    const create = makeCreateTrigger(deps);
    for (const name of ["charlie", "alpha", "bravo"]) await create(command({ name }));
    const list = makeListTriggers(deps);

    const first = await list({ limit: 2 });
    const second = await list({ limit: 2, ...(first.nextToken ? { nextToken: first.nextToken } : {}) });

    expect(first.items.map((item) => item.name)).toEqual(["alpha", "bravo"]);
    expect(second.items.map((item) => item.name)).toEqual(["charlie"]);
    expect(second.nextToken).toBeUndefined();
  });

  it("deletes a rule, after which it is not found, and a second delete is TriggerNotFoundError", async () => {
    const deps = makeDeps();
    await makeCreateTrigger(deps)(command());
    const remove = makeDeleteTrigger(deps);

    await remove("csv-ingest");

    expect(await deps.triggers.get("csv-ingest")).toBeUndefined();
    await rejection(() => remove("csv-ingest"), TriggerNotFoundError);
  });
});
