/**
 * Decodes `grpc-status-details-bin`: a serialized google.rpc.Status. No package we depend on
 * ships its schema, so it is described here from its three fields (google/rpc/status.proto).
 */
import { create, createFileRegistry, fromBinary, type DescMessage, type Message } from "@bufbuild/protobuf";
import {
  FieldDescriptorProto_Label as Label,
  FieldDescriptorProto_Type as Type,
  FileDescriptorProtoSchema,
  file_google_protobuf_any,
  type Any,
} from "@bufbuild/protobuf/wkt";

const statusFile = create(FileDescriptorProtoSchema, {
  name: "google/rpc/status.proto",
  package: "google.rpc",
  syntax: "proto3",
  dependency: ["google/protobuf/any.proto"],
  messageType: [
    {
      name: "Status",
      field: [
        { name: "code", number: 1, type: Type.INT32, label: Label.OPTIONAL, jsonName: "code" },
        { name: "message", number: 2, type: Type.STRING, label: Label.OPTIONAL, jsonName: "message" },
        { name: "details", number: 3, type: Type.MESSAGE, typeName: ".google.protobuf.Any", label: Label.REPEATED, jsonName: "details" },
      ],
    },
  ],
});

type Status = Message<"google.rpc.Status"> & { code: number; message: string; details: Any[] };

const StatusSchema = createFileRegistry(statusFile, (name) =>
  name === "google/protobuf/any.proto" ? file_google_protobuf_any : undefined,
).getMessage("google.rpc.Status") as DescMessage;

export interface DecodedStatus<D> {
  code: number;
  message: string;
  /** Every Any of `details`; `detail` is set where its type is the given ErrorDetail schema's. */
  details: Array<{ typeUrl: string; detail?: D }>;
}

/** Decodes the Status and, with the given schema, every detail of that type. */
export function decodeGrpcStatus<D extends Message>(bytes: Uint8Array, detailSchema: DescMessage & { typeName: string }): DecodedStatus<D> {
  const status = fromBinary(StatusSchema, bytes) as Status;
  return {
    code: status.code,
    message: status.message,
    details: status.details.map((any) => ({
      typeUrl: any.typeUrl,
      detail: any.typeUrl === `type.googleapis.com/${detailSchema.typeName}` ? (fromBinary(detailSchema, any.value) as D) : undefined,
    })),
  };
}
