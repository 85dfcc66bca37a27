import type { Kysely, Selectable } from "kysely";
import type { Database, EventsTable } from "./schema.js";
import type { AggregateType, EventRecord, NewEvent } from "../domain/store.js";

/**
 * Rows per INSERT: 8 parameters each, far below PostgreSQL's limit of 65,535 parameters in one
 * statement (8,192 rows would pass it).
 */
export const EVENTS_PER_INSERT = 1_000;

/**
 * Appends in as few statements as the parameter limit allows (callers run it in their
 * transaction, so the batches commit together); the (aggregate_type, aggregate_id, sequence) key
 * rejects a duplicate sequence.
 */
export async function appendEvents(db: Kysely<Database>, events: NewEvent[]): Promise<void> {
  for (let i = 0; i < events.length; i += EVENTS_PER_INSERT) await insertBatch(db, events.slice(i, i + EVENTS_PER_INSERT));
}

async function insertBatch(db: Kysely<Database>, events: NewEvent[]): Promise<void> {
  await db
    .insertInto("events")
    .values(
      events.map((e) => ({
        aggregate_type: e.aggregateType,
        aggregate_id: e.aggregateId,
        sequence: e.sequence,
        type: e.type,
        payload: JSON.stringify(e.payload),
        actor_id: e.actorId,
        org_id: e.orgId,
        created_at: e.createdAt,
      })),
    )
    .execute();
}

export async function listEvents(db: Kysely<Database>, aggregateId: string, aggregateType: AggregateType = "user"): Promise<EventRecord[]> {
  const rows = await db
    .selectFrom("events")
    .selectAll()
    .where("aggregate_type", "=", aggregateType)
    .where("aggregate_id", "=", aggregateId)
    .orderBy("sequence")
    .execute();
  return rows.map(toRecord);
}

function toRecord(r: Selectable<EventsTable>): EventRecord {
  return {
    position: String(r.position),
    aggregateType: r.aggregate_type as AggregateType,
    aggregateId: r.aggregate_id,
    sequence: Number(r.sequence),
    type: r.type,
    payload: r.payload as Record<string, unknown>,
    actorId: r.actor_id,
    orgId: r.org_id,
    createdAt: r.created_at,
  };
}

/** Position of the newest event in the log ("0" when there is none); read from the position index. */
export async function latestEventPosition(db: Kysely<Database>): Promise<string> {
  const row = await db.selectFrom("events").select((eb) => eb.fn.max("position").as("p")).executeTakeFirst();
  return row?.p == null ? "0" : String(row.p);
}
