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
