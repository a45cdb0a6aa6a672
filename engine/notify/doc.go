// Package notify delivers a run's notifications (docs/execution.md,
// "Notifications"): a Message posted to a Slack incoming webhook or, as a
// JSON document, to any webhook. Delivery is bounded (a timeout per
// attempt, a few attempts, a budget for all of them) and reports how it
// went in a Result; it never quotes the URL it posts to, which is a
// secret.
package notify
