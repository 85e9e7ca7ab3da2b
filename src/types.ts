import type { RequestIdVariables } from "hono/request-id";
import type { Db } from "./db/client";
import type { ApiScope, WorkspaceRow } from "./db/schema";

export type AuthContext = {
  workspace: WorkspaceRow;
  apiKeyId: string;
  scopes: ApiScope[];
};

export type AppEnv = {
  Bindings: Env;
  Variables: RequestIdVariables & {
    db: Db;
    auth: AuthContext;
    /** When the request arrived. */
    receivedAt: number;
    /** What a read holds is complete up to this time (see readAsOf). */
    asOf?: number;
  };
};
