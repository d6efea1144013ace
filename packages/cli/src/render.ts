import {
  type AuditEvent,
  approvalsJson,
  type Release,
  type ReleaseView,
  type RoleProgress,
  releaseJson,
} from "@relctl/core";

const ICON: Record<RoleProgress["state"], string> = {
  approved: "✅",
  waiting: "⏳",
  blocked: "⏸",
  rejected: "❌",
};

export function renderReleaseLine(r: Release): string {
  return `#${r.id}  ${r.service} ${r.tag}  ${r.status}${r.rollbackToTag ? `  (rollback to ${r.rollbackToTag})` : ""}`;
}

export function renderReleaseView(view: ReleaseView): string {
  const r = view.release;
  const lines = [
    renderReleaseLine(r),
    `  initiated by ${r.initiatedBy} at ${r.createdAt.toISOString()}`,
    `  approvals: ${view.progress.map((p) => `${ICON[p.state]} ${p.role}${p.approvedBy.length ? ` (${p.approvedBy.join(", ")})` : ""}`).join("  ")}`,
  ];
  const rejection = view.approvals.find((a) => a.decision === "reject");
  if (rejection) lines.push(`  rejected by ${rejection.user} (${rejection.role}): ${rejection.reason}`);
  if (r.githubActionLink) lines.push(`  run: ${r.githubActionLink}`);
  if (r.completedAt) lines.push(`  completed at ${r.completedAt.toISOString()}`);
  return lines.join("\n");
}

export function renderAudit(events: readonly AuditEvent[]): string {
  if (events.length === 0) return "no audit events";
  return events
    .map((e) => {
      const change =
        e.action === "release.status"
          ? `${(e.before as { status?: string })?.status} → ${(e.after as { status?: string })?.status}`
          : e.after
            ? JSON.stringify(e.after)
            : "";
      return `${e.at.toISOString()}  ${e.channel.padEnd(8)} ${e.actor.padEnd(12)} ${e.action.padEnd(16)} ${e.releaseId ? `#${e.releaseId}` : ""}  ${change}`.trimEnd();
    })
    .join("\n");
}

export { releaseJson };

export function releaseViewJson(v: ReleaseView): Record<string, unknown> {
  return { release: releaseJson(v.release), ...approvalsJson(v.progress, v.approvals) };
}

export function renderPlan(plan: { deploy: readonly PlanLine[]; rollback: readonly PlanLine[] }): string {
  const line = (p: PlanLine) =>
    `  [${p.phase}] ${p.host}: ${p.step.title}${p.step.cwd ? `   (in ${p.step.cwd})` : ""}`;
  const out = ["deploy:", ...plan.deploy.map(line)];
  out.push(
    plan.rollback.length ? "if unhealthy, roll back:" : "if unhealthy: no previous version to roll back to",
    ...plan.rollback.map(line),
  );
  return out.join("\n");
}

interface PlanLine {
  readonly phase: string;
  readonly host: string;
  readonly step: { readonly title: string; readonly cwd?: string };
}
