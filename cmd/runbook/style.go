package main

import "github.com/fatih/color"

// Colours for stdout; fatih/color turns them off when color.NoColor is set,
// which the root command does from IOStreams.
var (
	bold   = color.New(color.Bold).SprintFunc()
	faint  = color.New(color.Faint).SprintFunc()
	green  = color.New(color.FgGreen).SprintFunc()
	red    = color.New(color.FgRed).SprintFunc()
	yellow = color.New(color.FgYellow).SprintFunc()
	cyan   = color.New(color.FgCyan).SprintFunc()
)

// paintErr colours text for stderr, which may be a terminal when stdout is
// not (`runbook exec … | tee incident.log`) and the other way round.
func paintErr(s *IOStreams, attr color.Attribute, text string) string {
	if !s.ErrColorEnabled() {
		return text
	}
	c := color.New(attr)
	c.EnableColor()
	return c.Sprint(text)
}
