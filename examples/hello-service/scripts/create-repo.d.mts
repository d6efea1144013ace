export interface HelloRelease {
  tag: string;
  version: string;
  /** Schema version (highest migration number) of this release. */
  schema: number;
  flags: { RECORD_VISITS: boolean; NEEDS_FEATURE_FLAGS_URL: boolean };
  /** Author, committer and tagger date (ISO 8601). */
  date: string;
  message: string;
}

export const RELEASES: readonly HelloRelease[];

export interface HelloRepo {
  /** <dir>/hello: non-bare repository, branch main at the newest tag. */
  workDir: string;
  /** <dir>/hello.git: bare clone, the work repository's origin; null when bare is false. */
  bareDir: string | null;
  /** ["v1.0.0", "v1.1.0", "v1.2.0"], oldest first. */
  tags: string[];
}

export function createHelloRepo(options: {
  dir: string;
  bare?: true;
}): Promise<HelloRepo & { bareDir: string }>;
export function createHelloRepo(options: {
  dir: string;
  bare: false;
}): Promise<HelloRepo & { bareDir: null }>;
export function createHelloRepo(options: { dir: string; bare?: boolean }): Promise<HelloRepo>;
