package sdk

import (
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/runbookdev/runbook/plugins"
)

// Validator is a check of an attribute's value declared as data
// (Attribute.Validators): `runbook validate` makes it without running the
// plugin, and the run makes it again for values known only then, so a
// handler never sees a value that fails it. On a list, set or map, every
// kind but length checks each element. See docs/plugins.md, "Validators".
//
//	{Name: "url", Type: cty.String, Required: true,
//		Validators: []*sdk.Validator{sdk.URLWithScheme("http", "https")}}
type Validator = plugins.Validator

// OneOf: the value equals one of values.
func OneOf(values ...cty.Value) *Validator { return plugins.OneOf(values...) }

// OneOfStrings: the string is one of values (compared exactly).
func OneOfStrings(values ...string) *Validator { return plugins.OneOfStrings(values...) }

// MatchPattern: the whole string matches the RE2 expression re.
func MatchPattern(re string) *Validator { return plugins.MatchPattern(re) }

// URLWithScheme: an absolute URL with a host and one of schemes
// (lower-case; any scheme when none is given).
func URLWithScheme(schemes ...string) *Validator { return plugins.URLWithScheme(schemes...) }

// Between: a number from min to max, inclusive.
func Between(min, max float64) *Validator { return plugins.Between(min, max) }

// AtLeast: a number of at least min.
func AtLeast(min float64) *Validator { return plugins.AtLeast(min) }

// AtMost: a number of at most max.
func AtMost(max float64) *Validator { return plugins.AtMost(max) }

// LengthBetween: a string's length in characters, or a collection's in
// elements, from min to max inclusive; a negative bound is none.
func LengthBetween(min, max int) *Validator { return plugins.LengthBetween(min, max) }

// PositiveDuration: a duration ("30s", "1h30m") of more than zero.
func PositiveDuration() *Validator { return plugins.PositiveDuration() }

// DurationBetween: a duration from min to max inclusive; zero is no bound.
func DurationBetween(min, max time.Duration) *Validator { return plugins.DurationBetween(min, max) }
