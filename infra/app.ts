import { App, Validations } from "aws-cdk-lib";
import { createStacks } from "./hpc-cluster-api.ts";
import { HouseNagChecks } from "./nag-suppressions.ts";

// `cdk synth` / `cdk deploy` run this file (cdk.json). Any unacknowledged cdk-nag finding fails synthesis.
const app = new App();
const account = process.env.CDK_DEFAULT_ACCOUNT;
const region = process.env.CDK_DEFAULT_REGION;
createStacks(app, account !== undefined && region !== undefined ? { env: { account, region } } : {});
Validations.of(app).addPlugins(new HouseNagChecks(app, { verbose: true }));
app.synth();
