/**
 * A service Roster does not serve (`roster.test.v1.Missing`, one unary `Check` with the health
 * messages), built from a descriptor at run time, for clients that need a schema to call it.
 */
import { create, createFileRegistry } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { file_grpc_health_v1_health } from "../../src/gen/grpc/health/v1/health_pb.js";

const registry = createFileRegistry(
  create(FileDescriptorProtoSchema, {
    name: "roster/test/v1/missing.proto",
    package: "roster.test.v1",
    syntax: "proto3",
    dependency: ["grpc/health/v1/health.proto"],
    service: [
      {
        name: "Missing",
        method: [{ name: "Check", inputType: ".grpc.health.v1.HealthCheckRequest", outputType: ".grpc.health.v1.HealthCheckResponse" }],
      },
    ],
  }),
  (name) => (name === "grpc/health/v1/health.proto" ? file_grpc_health_v1_health : undefined),
);

export const ServiceDesc = registry.getService("roster.test.v1.Missing")!;
