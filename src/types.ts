import type { RequestIdVariables } from "hono/request-id";
import type { D1Handle, Db } from "./db/client";
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
    /**
     * The D1 that hand-written queries read through: the binding, or for reads of what is derived from
     * raw events, the session `caughtUp` opened. `db` goes through the same.
     */
    d1: D1Handle;
    auth: AuthContext;
    /** When the request arrived. */
    receivedAt: number;
    /** What a read holds is complete up to this time (see readAsOf). */
    asOf?: number;
  };
};
