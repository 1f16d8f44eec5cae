import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LocalApi, startLocalApi } from "../../support/local-api.ts";

/**
 * The curl sequence of the AWS blog post "Using AWS ParallelCluster with a serverless API", with only the
 * host changed: create, status until complete, delete. The body is exactly what
 * `--data-binary "$(base64 /tmp/pcluster.conf)"` sends: base64 wrapped at 76 columns, form-encoded type.
 */
const config = readFileSync(new URL("../../fixtures/blog-pcluster.conf", import.meta.url));
const wrappedBase64 = (config.toString("base64").match(/.{1,76}/g) ?? []).join("\n");
const curlHeaders = {
  "content-type": "application/x-www-form-urlencoded",
  additional_parameters: "--nowait",
};

let api: LocalApi;
beforeAll(async () => {
  api = await startLocalApi({ stackDelayMs: 300 });
});
afterAll(async () => {
  await api.close();
});

const command = (query: string, headers: Record<string, string> = curlHeaders) =>
  api.request("POST", `/Prod/pcluster?${query}`, { body: wrappedBase64, headers });

describe("the blog post's curl sequence against the local server", () => {
  it("creates cluster1 and answers in the pcluster CLI's words", async () => {
    const response = await command("command=create&cluster_name=cluster1");
    expect(response.status).toBe(202);
    expect(response.text).toBe(
      "Beginning cluster creation for cluster: cluster1\nCreating stack named: parallelcluster-cluster1\n",
    );
  });

  it("reports CREATE_IN_PROGRESS at once, then CREATE_COMPLETE with the head node", async () => {
    const early = await command("command=status&cluster_name=cluster1");
    expect(early.status).toBe(200);
    expect(early.text).toBe("Status: parallelcluster-cluster1 - CREATE_IN_PROGRESS\n");

    await api.waitForStatus("cluster1", "CREATE_COMPLETE");
    const done = await command("command=status&cluster_name=cluster1", {
      ...curlHeaders,
      additional_parameters: "",
    });
    expect(done.text.split("\n")).toEqual([
      "Status: parallelcluster-cluster1 - CREATE_COMPLETE",
      "MasterServer: RUNNING",
      "MasterPrivateIP: 127.0.0.1",
      "ClusterUser: ec2-user",
      "",
    ]);
  });

  it("shows the same cluster through the resource API, config normalized from the INI", async () => {
    const response = await api.request("GET", "/v1/clusters/cluster1");
    expect(response.json).toMatchObject({
      name: "cluster1",
      status: "CREATE_COMPLETE",
      scheduler: "slurm",
      stackName: "parallelcluster-cluster1",
      headNode: { state: "RUNNING", privateIp: "127.0.0.1" },
      configuration: {
        sourceFormat: "pcluster2-ini",
        scheduler: "slurm",
        region: "eu-west-1",
        os: "alinux2",
      },
    });
    expect(response.json.stackId).toMatch(/^arn:aws:cloudformation:.*:stack\/parallelcluster-cluster1\//);
  });

  it("answers JSON with the same facts when asked for it", async () => {
    const response = await command("command=status&cluster_name=cluster1", {
      ...curlHeaders,
      accept: "application/json",
    });
    expect(response.json).toMatchObject({
      command: "status",
      lines: [
        "Status: parallelcluster-cluster1 - CREATE_COMPLETE",
        "MasterServer: RUNNING",
        "MasterPrivateIP: 127.0.0.1",
        "ClusterUser: ec2-user",
      ],
      cluster: { name: "cluster1", status: "CREATE_COMPLETE" },
    });
  });

  it("lists the cluster and says the version", async () => {
    expect((await command("command=list")).text).toBe("cluster1  CREATE_COMPLETE     slurm\n");
    expect((await command("command=version")).text).toMatch(/^\d+\.\d+\.\d+\n$/);
  });

  it("refuses a second create of the live name with 409", async () => {
    const response = await command("command=create&cluster_name=cluster1");
    expect(response.status).toBe(409);
    expect(response.json.type).toBe("urn:hpc-cluster-api:problem:cluster-exists");
  });

  it("deletes the cluster and reaches DELETE_COMPLETE, with the whole history newest first", async () => {
    const response = await command("command=delete&cluster_name=cluster1");
    expect(response.status).toBe(202);
    expect(response.text).toBe("Deleting: cluster1\n");
    expect((await command("command=delete&cluster_name=cluster1")).status).toBe(202);

    await api.waitForStatus("cluster1", "DELETE_COMPLETE");
    const events = await api.request("GET", "/v1/clusters/cluster1/events");
    expect(events.json.items.map((e: { status: string }) => e.status)).toEqual([
      "DELETE_COMPLETE",
      "DELETE_IN_PROGRESS",
      "CREATE_COMPLETE",
      "CREATE_IN_PROGRESS",
    ]);
    expect((await command("command=list")).text).toBe("");
  });

  it("lets the name be reused once the cluster is deleted", async () => {
    const response = await command("command=create&cluster_name=cluster1");
    expect(response.status).toBe(202);
    const cluster = await api.request("GET", "/v1/clusters/cluster1");
    expect(cluster.json.status).toBe("CREATE_IN_PROGRESS");
  });
});
