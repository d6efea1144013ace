import { approvalPolicyFor, loadReleaseView } from "@relctl/core";
import { BaseCommand } from "../base-command.js";
import { releaseViewJson, renderReleaseView } from "../render.js";

export default class Demo extends BaseCommand<typeof Demo> {
  static override summary = "Run a full release of the example service on the embedded defaults.";
  static override examples = [
    "<%= config.bin %> demo",
    "<%= config.bin %> demo --state-dir /tmp/relctl-demo",
  ];

  async run() {
    await this.parse(Demo);
    const ctx = await this.ctx();
    const ci = { user: "ci", channel: "cli" as const };
    const tag = `v1.0.${Date.now() % 100000}`;
    const { release } = await ctx.store.createRelease({ service: "hello", tag }, ci);
    this.note(`created release #${release.id} hello ${tag}`);
    for (const s of ["stage_building", "stage_test_rollback", "manual_testing"] as const) {
      await ctx.store.transition(release.id, s, ci);
      this.note(`  → ${s}`);
    }
    const policy = approvalPolicyFor(await ctx.config("hello"));
    for (const [role, user] of [
      ["qa", "quinn"],
      ["devops", "dora"],
      ["lead", "lee"],
    ] as const) {
      await ctx.store.decide(release.id, { role, decision: "approve" }, policy, { user, channel: "cli" });
      this.note(`  ✅ ${role} approved by ${user}`);
    }
    const view = await loadReleaseView(ctx.store, release.id, policy);
    this.log(renderReleaseView(view));
    return releaseViewJson(view);
  }
}
