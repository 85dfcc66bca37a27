import { fromBinary } from "@bufbuild/protobuf";
import { BinaryReader } from "@bufbuild/protobuf/wire";
import { ErrorDetailSchema, type ErrorDetail } from "../../src/gen/zitadel/message_pb.js";

export interface DecodedStatus {
  code: number;
  message: string;
  details: Array<{ typeUrl: string; errorDetail?: ErrorDetail }>;
}

/** Decodes `grpc-status-details-bin` (a serialized google.rpc.Status) by hand: no generated Status here. */
export function decodeGrpcStatus(bytes: Uint8Array): DecodedStatus {
  const out: DecodedStatus = { code: 0, message: "", details: [] };
  const r = new BinaryReader(bytes);
  while (r.pos < r.len) {
    const [no, wt] = r.tag();
    if (no === 1) out.code = r.int32();
    else if (no === 2) out.message = r.string();
    else if (no === 3) out.details.push(decodeAny(r.bytes()));
    else r.skip(wt);
  }
  return out;
}

function decodeAny(bytes: Uint8Array): { typeUrl: string; errorDetail?: ErrorDetail } {
  const r = new BinaryReader(bytes);
  let typeUrl = "";
  let value: Uint8Array = new Uint8Array();
  while (r.pos < r.len) {
    const [no, wt] = r.tag();
    if (no === 1) typeUrl = r.string();
    else if (no === 2) value = r.bytes();
    else r.skip(wt);
  }
  const errorDetail = typeUrl.endsWith("/zitadel.v1.ErrorDetail") ? fromBinary(ErrorDetailSchema, value) : undefined;
  return { typeUrl, errorDetail };
}
