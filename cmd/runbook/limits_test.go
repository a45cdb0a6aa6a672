package main

import (
	"os"
	"strconv"
	"strings"

	"github.com/rogpeppe/go-internal/testscript"
)

// cmdRepeat implements `repeat FILE PREFIX UNIT N SUFFIX`: it writes FILE
// (relative to $WORK) as PREFIX, UNIT N times, then SUFFIX; the three texts
// take Go escapes (\n, \t, \"). Scripts use it for inputs too large to
// write out: a hundred thousand nested brackets, a million digits.
func cmdRepeat(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 5 {
		ts.Fatalf("usage: repeat FILE PREFIX UNIT N SUFFIX")
	}
	n, err := strconv.Atoi(args[3])
	if err != nil {
		ts.Fatalf("repeat: bad count %q", args[3])
	}
	texts := make([]string, 3)
	for i, a := range []string{args[1], args[2], args[4]} {
		s, err := strconv.Unquote(`"` + strings.ReplaceAll(a, `"`, `\"`) + `"`)
		if err != nil {
			ts.Fatalf("repeat: %q: %v", a, err)
		}
		texts[i] = s
	}
	data := texts[0] + strings.Repeat(texts[1], n) + texts[2]
	ts.Check(os.WriteFile(ts.MkAbs(args[0]), []byte(data), 0o644))
}
