import { create } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import {
  AddOrganizationResponseSchema,
  AddOrganizationResponse_CreatedAdminSchema,
  type OrganizationService,
} from "../gen/zitadel/org/v2/org_service_pb.js";
import type { DomainDeps } from "../domain/deps.js";
import { addOrganization, type OrgAdminInput } from "../domain/orgs/add-organization.js";
import { detailsToProto } from "./mapping.js";
import { principalOf } from "./request-context.js";
import { addHumanInput } from "./user-inputs.js";

/** zitadel.org.v2.OrganizationService: AddOrganization; ListOrganizations comes later. */
export function createOrganizationService(deps: DomainDeps): Partial<ServiceImpl<typeof OrganizationService>> {
  return {
    async addOrganization(req, ctx) {
      const admins: OrgAdminInput[] = req.admins.map((a) => {
        const t = a.userType;
        if (t.case === "human") return { kind: "human", human: addHumanInput(t.value, null), roles: a.roles };
        return { kind: "existing", userId: t.case === "userId" ? t.value : "", roles: a.roles };
      });
      const result = await addOrganization(deps, principalOf(ctx), { name: req.name, orgId: req.orgId, admins });
      return create(AddOrganizationResponseSchema, {
        details: detailsToProto(result.details),
        organizationId: result.organizationId,
        createdAdmins: result.createdAdmins.map((c) => create(AddOrganizationResponse_CreatedAdminSchema, c)),
      });
    },
  };
}

