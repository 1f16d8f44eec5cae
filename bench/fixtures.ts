export { apiEvent, clusterRecord as benchCluster } from "../test/fixtures/events.ts";
