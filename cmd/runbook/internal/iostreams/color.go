package iostreams

import "github.com/fatih/color"

// ColorScheme paints text for one stream: when the stream gets no colour
// (not a terminal, --no-color, NO_COLOR) every method returns its text as
// it is. The scheme is decided per stream, because stderr may be a
// terminal when stdout is not (`runbook exec … | tee incident.log`) and the
// other way round.
type ColorScheme struct {
	enabled bool
}

// NewColorScheme returns a scheme that paints when enabled.
func NewColorScheme(enabled bool) *ColorScheme { return &ColorScheme{enabled: enabled} }

// Enabled reports whether the scheme paints.
func (c *ColorScheme) Enabled() bool { return c != nil && c.enabled }

func (c *ColorScheme) paint(attr color.Attribute, text string) string {
	if !c.Enabled() {
		return text
	}
	p := color.New(attr)
	p.EnableColor()
	return p.Sprint(text)
}

// Bold is for names and headings.
func (c *ColorScheme) Bold(text string) string { return c.paint(color.Bold, text) }

// Faint is for what matters less: hashes, hints, labels.
func (c *ColorScheme) Faint(text string) string { return c.paint(color.Faint, text) }

// Green is for success.
func (c *ColorScheme) Green(text string) string { return c.paint(color.FgGreen, text) }

// Red is for failure.
func (c *ColorScheme) Red(text string) string { return c.paint(color.FgRed, text) }

// Yellow is for warnings and what waits on someone.
func (c *ColorScheme) Yellow(text string) string { return c.paint(color.FgYellow, text) }

// Cyan is for questions and what the user types.
func (c *ColorScheme) Cyan(text string) string { return c.paint(color.FgCyan, text) }
