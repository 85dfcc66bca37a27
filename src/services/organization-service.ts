import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import {
  AddOrganizationResponseSchema,
  AddOrganizationResponse_CreatedAdminSchema,
  ListOrganizationsResponseSchema,
  type OrganizationService,
} from "../gen/zitadel/org/v2/org_service_pb.js";
import type { DomainDeps } from "../domain/deps.js";
import { addOrganization, type OrgAdminInput } from "../domain/orgs/add-organization.js";
import { listOrganizations } from "../domain/orgs/list-organizations.js";
import type { OrgState } from "../domain/orgs/org-filter.js";
import { OrganizationSchema, OrganizationState } from "../gen/zitadel/org/v2/org_pb.js";
import { detailsToProto } from "./mapping.js";
import { principalOf } from "./request-context.js";
import { addHumanInput } from "./user-inputs.js";
import { listOrganizationsInput } from "./org-queries.js";

const ORG_STATES: Record<OrgState, OrganizationState> = {
  active: OrganizationState.ACTIVE,
  inactive: OrganizationState.INACTIVE,
  removed: OrganizationState.REMOVED,
};

/** zitadel.org.v2.OrganizationService: AddOrganization and ListOrganizations. */
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

    async listOrganizations(req, ctx) {
      const result = await listOrganizations(deps, principalOf(ctx), listOrganizationsInput(req));
      return create(ListOrganizationsResponseSchema, {
        details: {
          totalResult: BigInt(result.total),
          processedSequence: BigInt(result.processedSequence),
          timestamp: timestampFromDate(result.timestamp),
        },
        sortingColumn: req.sortingColumn,
        result: result.orgs.map((o) =>
          create(OrganizationSchema, {
            id: o.id,
            // The organization is its own resource owner; a read carries the creation date, as ZITADEL's does.
            details: detailsToProto({ sequence: o.sequence, changeDate: o.changedAt, resourceOwner: o.id, creationDate: o.createdAt }),
            state: ORG_STATES[o.state],
            name: o.name,
            primaryDomain: "",
          }),
        ),
      });
    },
  };
}

