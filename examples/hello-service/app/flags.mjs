// Release switches. scripts/create-repo.mjs sets these values for every tag it builds.

// GET / records a visit. Needs the visits table of migration 0002, so it is on from v1.1.0.
export const RECORD_VISITS = true;

// GET /health answers 500. Only v1.2.0 sets it: the release whose health check fails
// in production and gets rolled back.
export const BROKEN_HEALTH = true;
