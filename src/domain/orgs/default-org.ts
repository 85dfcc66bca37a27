/** Settings key naming the instance's default organization; its presence means the instance exists. */
export const DEFAULT_ORG_SETTING = "default_org_id";
