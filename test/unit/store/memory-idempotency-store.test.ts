import { MemoryIdempotencyStore } from "#shared/adapters/local/memory-idempotency-store.ts";
import { describeIdempotencyStoreContract } from "./idempotency-store-contract.ts";

describeIdempotencyStoreContract(
  "MemoryIdempotencyStore",
  async (clock) => new MemoryIdempotencyStore({ clock }),
);
