import * as Args from "@oclif/core/args";
import * as Flags from "@oclif/core/flags";
import { OidcStore, oidcPolicyJson } from "@relctl/core";
import { BaseCommand } from "../../base-command.js";
import { renderOidcPolicy } from "../../render-members.js";

export default class OidcAllow extends BaseCommand<typeof OidcAllow> {
  static override summary =
    "Allow a GitHub workflow to act on a service with its OIDC ID token (no API token).";
  static override description =
    "The workflow is named by claims it cannot change: the repository and its owner by GitHub's numeric ids (gh api repos/<owner>/<repo> --jq '.id, .owner.id') and its job_workflow_ref, exact or with * for any characters. It may do what a service's API token does, on the release of the tag its job runs on only.";
  static override examples = [
    "<%= config.bin %> oidc allow hello --repository-id 4242 --owner-id 77 --workflow 'acme/hello/.github/workflows/release.yml@refs/tags/*'",
  ];
  static override args = { service: Args.string({ description: "Service name.", required: true }) };
  static override flags = {
    "repository-id": Flags.string({
      description: "The repository's numeric id (claim repository_id).",
      required: true,
    }),
    "owner-id": Flags.string({
      description: "The repository owner's numeric id (claim repository_owner_id).",
      required: true,
    }),
    workflow: Flags.string({
      description:
        "The job_workflow_ref allowed: owner/repo/.github/workflows/file.yml@ref, * for any characters.",
      required: true,
    }),
  };

  async run() {
    const { args, flags } = await this.parse(OidcAllow);
    const actor = this.actor();
    const { db } = await this.ctx();
    const { policy, created } = await new OidcStore(db.sql).allow(
      {
        service: args.service,
        repositoryId: flags["repository-id"],
        ownerId: flags["owner-id"],
        workflow: flags.workflow,
      },
      actor,
    );
    this.log(`${created ? "allowed" : "already allowed"}  ${renderOidcPolicy(policy)}`);
    return { created, policy: oidcPolicyJson(policy) };
  }
}
