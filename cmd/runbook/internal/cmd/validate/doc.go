// Package validate is `runbook validate`: every problem of a set of
// runbooks, positioned, without running anything; for people, JSON or
// GitHub annotations; and how long ago each was last rehearsed.
package validate
