/**
 * gRPC server reflection (grpc.reflection.v1 and v1alpha) from the descriptors embedded in the
 * generated code: every served service and the files they depend on (google/api, buf/validate,
 * the well-known types), so that grpcurl and buf curl work without the repository's schema.
 * One response per request on a bidirectional stream; each file is sent once per stream, with
 * the dependencies the client has not received yet.
 */
import { fromBinary, toBinary, type DescFile, type DescMessage, type DescService } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { create } from "@bufbuild/protobuf";
import { Code, type ServiceImpl } from "@connectrpc/connect";
import {
  ErrorResponseSchema,
  ServerReflection as ServerReflectionV1,
  ServerReflectionRequestSchema,
  ServerReflectionResponseSchema,
  type ServerReflectionRequest,
  type ServerReflectionResponse,
} from "../gen/grpc/reflection/v1/reflection_pb.js";
import {
  ServerReflection as ServerReflectionV1alpha,
  ServerReflectionRequestSchema as AlphaRequestSchema,
  ServerReflectionResponseSchema as AlphaResponseSchema,
} from "../gen/grpc/reflection/v1alpha/reflection_pb.js";

export { ServerReflectionV1, ServerReflectionV1alpha };

interface Index {
  services: string[];
  byFilename: Map<string, DescFile>;
  bySymbol: Map<string, DescFile>;
  /** `<extendee>:<number>` → file declaring the extension. */
  byExtension: Map<string, DescFile>;
  extensionNumbers: Map<string, number[]>;
}

function fileName(file: DescFile): string {
  return file.proto.name;
}

function indexMessage(index: Index, file: DescFile, message: DescMessage): void {
  index.bySymbol.set(message.typeName, file);
  for (const field of message.fields) index.bySymbol.set(`${message.typeName}.${field.name}`, file);
  for (const oneof of message.oneofs) index.bySymbol.set(`${message.typeName}.${oneof.name}`, file);
  for (const nested of message.nestedMessages) indexMessage(index, file, nested);
  for (const nested of message.nestedEnums) index.bySymbol.set(nested.typeName, file);
  for (const ext of message.nestedExtensions) indexExtension(index, file, ext);
}

function indexExtension(index: Index, file: DescFile, ext: DescFile["extensions"][number]): void {
  index.bySymbol.set(ext.typeName, file);
  index.byExtension.set(`${ext.extendee.typeName}:${ext.number}`, file);
  const numbers = index.extensionNumbers.get(ext.extendee.typeName) ?? [];
  numbers.push(ext.number);
  index.extensionNumbers.set(ext.extendee.typeName, numbers);
}

function indexFile(index: Index, file: DescFile): void {
  if (index.byFilename.has(fileName(file))) return;
  index.byFilename.set(fileName(file), file);
  for (const dep of file.dependencies) indexFile(index, dep);
  for (const service of file.services) {
    index.bySymbol.set(service.typeName, file);
    for (const method of service.methods) index.bySymbol.set(`${service.typeName}.${method.name}`, file);
  }
  for (const message of file.messages) indexMessage(index, file, message);
  for (const e of file.enums) {
    index.bySymbol.set(e.typeName, file);
    // enum values are scoped like siblings of their enum (protobuf's C++ scoping rule)
    const scope = e.typeName.includes(".") ? e.typeName.slice(0, e.typeName.lastIndexOf(".") + 1) : "";
    for (const value of e.values) index.bySymbol.set(`${scope}${value.name}`, file);
  }
  for (const ext of file.extensions) indexExtension(index, file, ext);
}

function buildIndex(services: DescService[]): Index {
  const index: Index = { services: [], byFilename: new Map(), bySymbol: new Map(), byExtension: new Map(), extensionNumbers: new Map() };
  for (const service of services) {
    index.services.push(service.typeName);
    indexFile(index, service.file);
  }
  return index;
}

/**
 * The file (always: it is what was asked for) and those of its transitive dependencies not sent
 * yet on this stream, the file first, as grpc-go's reflection does.
 */
function filesToSend(file: DescFile, sent: Set<string>): Uint8Array[] {
  const out: Uint8Array[] = [];
  const visit = (f: DescFile, requested: boolean) => {
    if (sent.has(fileName(f)) && !requested) return;
    sent.add(fileName(f));
    out.push(toBinary(FileDescriptorProtoSchema, f.proto));
    for (const dep of f.dependencies) visit(dep, false);
  };
  visit(file, true);
  return out;
}

function responder(index: Index): (req: ServerReflectionRequest, sent: Set<string>) => ServerReflectionResponse {
  const error = (code: Code, message: string): ServerReflectionResponse["messageResponse"] => ({
    case: "errorResponse",
    value: create(ErrorResponseSchema, { errorCode: code, errorMessage: message }),
  });
  const files = (file: DescFile | undefined, sent: Set<string>, what: string): ServerReflectionResponse["messageResponse"] =>
    file
      ? { case: "fileDescriptorResponse", value: { $typeName: "grpc.reflection.v1.FileDescriptorResponse", fileDescriptorProto: filesToSend(file, sent) } }
      : error(Code.NotFound, `${what} not found`);

  return (req, sent) => {
    const r = req.messageRequest;
    let messageResponse: ServerReflectionResponse["messageResponse"];
    switch (r.case) {
      case "fileByFilename":
        messageResponse = files(index.byFilename.get(r.value), sent, `file "${r.value}"`);
        break;
      case "fileContainingSymbol":
        messageResponse = files(index.bySymbol.get(r.value.replace(/^\./, "")), sent, `symbol "${r.value}"`);
        break;
      case "fileContainingExtension":
        messageResponse = files(
          index.byExtension.get(`${r.value.containingType}:${r.value.extensionNumber}`),
          sent,
          `extension ${r.value.extensionNumber} of "${r.value.containingType}"`,
        );
        break;
      case "allExtensionNumbersOfType": {
        const known = index.extensionNumbers.has(r.value) || index.bySymbol.has(r.value);
        messageResponse = known
          ? {
              case: "allExtensionNumbersResponse",
              value: {
                $typeName: "grpc.reflection.v1.ExtensionNumberResponse",
                baseTypeName: r.value,
                extensionNumber: [...(index.extensionNumbers.get(r.value) ?? [])].sort((a, b) => a - b),
              },
            }
          : error(Code.NotFound, `type "${r.value}" not found`);
        break;
      }
      case "listServices":
        messageResponse = {
          case: "listServicesResponse",
          value: {
            $typeName: "grpc.reflection.v1.ListServiceResponse",
            service: index.services.map((name) => ({ $typeName: "grpc.reflection.v1.ServiceResponse", name })),
          },
        };
        break;
      default:
        messageResponse = error(Code.InvalidArgument, "no request in ServerReflectionRequest");
    }
    return create(ServerReflectionResponseSchema, { validHost: req.host, originalRequest: req, messageResponse });
  };
}

/**
 * Both reflection services over `services` (which should include the reflection services
 * themselves, as they are served too).
 */
export function createReflectionServices(services: DescService[]): {
  v1: ServiceImpl<typeof ServerReflectionV1>;
  v1alpha: ServiceImpl<typeof ServerReflectionV1alpha>;
} {
  const respond = responder(buildIndex(services));
  return {
    v1: {
      async *serverReflectionInfo(requests) {
        const sent = new Set<string>();
        for await (const req of requests) yield respond(req, sent);
      },
    },
    v1alpha: {
      // the same messages under another package: identical on the wire
      async *serverReflectionInfo(requests) {
        const sent = new Set<string>();
        for await (const req of requests) {
          const res = respond(fromBinary(ServerReflectionRequestSchema, toBinary(AlphaRequestSchema, req)), sent);
          yield fromBinary(AlphaResponseSchema, toBinary(ServerReflectionResponseSchema, res));
        }
      },
    },
  };
}
