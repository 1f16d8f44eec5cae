import { MemoryInputLedger } from "#shared/adapters/local/memory-input-ledger.ts";
import { describeInputLedgerContract } from "./input-ledger-contract.ts";

describeInputLedgerContract("MemoryInputLedger", async (clock) => new MemoryInputLedger({ clock }));
