package notify

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Message is what a notification says of a run.
type Message struct {
	// Event is "started", "waiting_approval", "succeeded", "failed" or
	// "interrupted".
	Event   string `json:"event"`
	Runbook string `json:"runbook"`
	RunID   string `json:"run_id"`
	// Mode is "run" or "dry-run".
	Mode     string `json:"mode"`
	Operator string `json:"operator"`
	// Status is the run's status once it ended (succeeded, failed,
	// blocked, declined, interrupted); "" before.
	Status string `json:"status,omitempty"`
	// FailedStep names the step that stopped the run, or the one that
	// waits for approval.
	FailedStep string `json:"failed_step,omitempty"`
	Reason     string `json:"reason,omitempty"`
	// TranscriptHead is the hash of the transcript's last line when the
	// notification was sent: what `runbook transcript verify` checks.
	TranscriptHead string `json:"transcript_head,omitempty"`
	// TraceID is the run's OpenTelemetry trace, when it is traced.
	TraceID  string    `json:"trace_id,omitempty"`
	ExitCode int       `json:"exit_code"`
	Time     time.Time `json:"time"`
}

// webhookBody is the JSON document posted to a generic webhook: the
// message itself.
func webhookBody(m Message) ([]byte, error) { return json.Marshal(m) }

// Limits of Slack's Block Kit that a message stays within.
const (
	slackHeaderMax = 150
	slackFieldMax  = 2000
	slackReasonMax = 1000
)

// slackBody is Slack's incoming-webhook payload: a header and a section of
// facts, and the same in "text" for notifications and clients that show
// no blocks.
func slackBody(m Message) ([]byte, error) {
	title := truncate(Title(m), slackHeaderMax)
	facts := []string{
		"*Runbook*\n" + slackEscape(m.Runbook),
		"*Run*\n" + slackEscape(m.RunID),
		"*Operator*\n" + slackEscape(m.Operator),
		"*Mode*\n" + slackEscape(m.Mode),
	}
	if m.FailedStep != "" {
		facts = append(facts, "*Step*\n"+slackEscape(m.FailedStep))
	}
	if m.Status != "" {
		facts = append(facts, fmt.Sprintf("*Status*\n%s (exit %d)", slackEscape(m.Status), m.ExitCode))
	}
	if m.TranscriptHead != "" {
		facts = append(facts, "*Transcript head*\n`"+slackEscape(shortHash(m.TranscriptHead))+"`")
	}
	if m.TraceID != "" {
		facts = append(facts, "*Trace*\n`"+slackEscape(m.TraceID)+"`")
	}
	fields := make([]map[string]string, len(facts))
	for i, f := range facts {
		fields[i] = map[string]string{"type": "mrkdwn", "text": truncate(f, slackFieldMax)}
	}
	blocks := []any{
		map[string]any{"type": "header", "text": map[string]any{"type": "plain_text", "text": title, "emoji": true}},
		map[string]any{"type": "section", "fields": fields},
	}
	text := title
	if m.Reason != "" {
		reason := truncate(m.Reason, slackReasonMax)
		blocks = append(blocks, map[string]any{"type": "section", "text": map[string]string{"type": "mrkdwn", "text": "*Reason*\n" + slackEscape(reason)}})
		text += ": " + reason
	}
	blocks = append(blocks, map[string]any{"type": "context", "elements": []map[string]string{
		{"type": "mrkdwn", "text": slackEscape(m.Time.UTC().Format(time.RFC3339))},
	}})
	return json.Marshal(map[string]any{"text": slackEscape(text), "blocks": blocks})
}

// Title is a notification's headline: what happened to which runbook.
func Title(m Message) string {
	var s string
	switch m.Event {
	case "started":
		s = "▶ " + m.Runbook + " started"
	case "waiting_approval":
		s = "⏸ " + m.Runbook + " is waiting for approval"
	case "succeeded":
		s = "✅ " + m.Runbook + " succeeded"
	case "failed":
		s = "❌ " + m.Runbook + " failed"
		if m.Status != "" && m.Status != "failed" {
			s += " (" + m.Status + ")"
		}
	case "interrupted":
		s = "⏹ " + m.Runbook + " was interrupted"
	default:
		s = m.Runbook + ": " + m.Event
	}
	if m.Mode == "dry-run" {
		s += " (dry-run)"
	}
	return s
}

// slackEscape escapes the three characters Slack's mrkdwn gives meaning to.
func slackEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// truncate shortens s to at most max runes, marking the cut.
func truncate(s string, max int) string {
	r := []rune(s)
	if len(r) <= max {
		return s
	}
	return string(r[:max-1]) + "…"
}

func shortHash(h string) string {
	if len(h) > 16 {
		return h[:16]
	}
	return h
}
