// Release switches. scripts/create-repo.mjs sets these values for every tag it builds.

// GET / records a visit. Needs the visits table of migration 0002, so it is on from v1.1.0.
export const RECORD_VISITS = true;

// Needs the FEATURE_FLAGS_URL setting: GET /health answers 500 where it is not set. Only v1.2.0
// sets it. Stage has the setting and production does not, so v1.2.0 passes stage and fails its
// production health check, and is rolled back automatically.
export const NEEDS_FEATURE_FLAGS_URL = true;
