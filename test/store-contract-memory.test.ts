// The store contract (test/support/store-contract.ts) against the in-memory store.
import { createMemoryStore } from "../src/store/memory-store.js";
import { describeStoreContract } from "./support/store-contract.js";

describeStoreContract("in memory", {
  async fresh() {
    const store = createMemoryStore();
    return {
      store,
      outbox: async (userId) =>
        store
          .notifications()
          .filter((n) => n.userId === userId)
          .map(({ id: _id, ...entry }) => entry),
    };
  },
});
