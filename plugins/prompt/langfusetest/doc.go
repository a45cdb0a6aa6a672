// Package langfusetest is a model of Langfuse for tests, as net/http/httptest
// is of an HTTP server: an in-memory Langfuse on a loopback port that answers
// the prompt endpoints of the public API as Langfuse documents and
// implements them:
//
//   - basic auth with the project's public and secret key, else 401;
//   - GET /api/public/v2/prompts lists prompts grouped by name, sorted by
//     name, filtered by name (exact), label and version, paginated with page
//     (from 1) and limit, meta.totalPages = ceil(totalItems / limit);
//   - GET /api/public/v2/prompts/{name} answers one version, by label or by
//     version (not both: 400), by the label "production" when neither is
//     given; 404 when there is none;
//   - POST /api/public/v2/prompts creates the next version, which gets
//     "latest" and the labels asked for, taken off the versions that had
//     them, and answers 200 with it (SetCreateStatus); a prompt keeps its
//     type (400 otherwise);
//   - PATCH /api/public/v2/prompts/{name}/versions/{version} adds newLabels
//     to the version (its other labels stay) and takes them off every other
//     version; "latest" cannot be given (400);
//   - a protected label cannot be set by POST or PATCH: 403;
//   - labels are lower-case letters, digits, '_', '-' and '.', at most 36;
//     names are Langfuse's (folders separated by '/').
//
// A name is one path segment: a client must escape a '/' in it.
//
// The backend's own tests drive it (plugins/prompt), and so do the CLI's
// scripts (cmd/runbook), which move labels behind a run's back with plain
// HTTP requests.
package langfusetest
