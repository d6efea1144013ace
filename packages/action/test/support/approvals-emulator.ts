import { type LoopbackServer, startLoopbackServer } from "@relctl/testkit";

/**
 * The approvals service's two seed endpoints on loopback (`POST /release {service, tag}` →
 * release_id, `PATCH /release {release_id, status}`), recording every request. For the tests that
 * must show that no request is made; the end-to-end test runs against the real service.
 */
export async function startApprovalsEmulator(): Promise<LoopbackServer> {
  const releases = new Map<number, { service: string; tag: string; status: string }>();
  return startLoopbackServer((req) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    if (req.method === "POST" && req.path === "/release") {
      const id = releases.size + 1;
      releases.set(id, { service: String(body.service), tag: String(body.tag), status: "initiated" });
      return {
        status: 201,
        body: {
          created: true,
          release_id: id,
          service_name: body.service,
          release_tag: body.tag,
          status: "initiated",
        },
      };
    }
    if (req.method === "PATCH" && req.path === "/release") {
      const r = releases.get(Number(body.release_id));
      if (!r)
        return { status: 404, body: { error: { code: "release_not_found", message: "no such release" } } };
      r.status = String(body.status);
      return {
        status: 200,
        body: {
          release_id: Number(body.release_id),
          service_name: r.service,
          release_tag: r.tag,
          status: r.status,
        },
      };
    }
    return undefined;
  });
}
