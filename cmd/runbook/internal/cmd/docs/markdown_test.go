package docs

import "testing"

func TestInline(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"plain", "Roll a prompt back.", "Roll a prompt back."},
		{"table pipe", "a | b", "a &#124; b"},
		{"html", "<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;"},
		{"entity stays text", "&amp; &lt;", "&amp;amp; &amp;lt;"},
		{"backticks", "run `ls`", "run \\`ls\\`"},
		{"emphasis", "*bold* _it_ snake_case", `\*bold\* \_it\_ snake\_case`},
		{"link", "[x](http://e.com)", `\[x\](http://e.com)`},
		{"heading mark", "# not a heading", `\# not a heading`},
		{"backslash", `C:\path`, `C:\\path`},
		{"braces and tilde", "{: .x} ~~gone~~", `\{: .x\} &#126;&#126;gone&#126;&#126;`},
		{"lines joined", "one\n  two\n\nthree", "one two three"},
		// Written as escapes (text.VisibleLine), whose backslash Markdown
		// must show.
		{"control characters", "a\x1b[31mb\u202ec", `a\\x1b\[31mb\\u202ec`},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Inline(tt.in); got != tt.want {
				t.Errorf("Inline(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestBlock(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"plain", "One line.", "One line."},
		{"paragraphs kept", "First.\n\nSecond.", "First.\n\nSecond."},
		{"list item", "- not a list", "&#45; not a list"},
		{"plus item", "+ not a list", "&#43; not a list"},
		{"numbered", "1. not a list\n12) nor this", "1&#46; not a list\n12&#41; nor this"},
		{"number in text", "Wait 5. Then go.", "Wait 5. Then go."},
		{"setext underline", "Title\n===", "Title\n&#61;=="},
		{"thematic break", "---", "&#45;--"},
		{"quote", "> not a quote", "&gt; not a quote"},
		{"heading", "## no", `\#\# no`},
		{"indented code", "text\n        not code", "text\nnot code"},
		{"fence", "```sh\nrm -rf /\n```", "\\`\\`\\`sh\nrm -rf /\n\\`\\`\\`"},
		{"html block", "<div>x</div>", "&lt;div&gt;x&lt;/div&gt;"},
		{"tabs and controls", "\tx\ty\rz", `x y\\rz`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Block(tt.in); got != tt.want {
				t.Errorf("Block(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestCode(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"plain", "var.prompt", "`var.prompt`"},
		{"markdown inside is literal", `a | <b> *c*`, "`a | <b> *c*`"},
		{"backtick inside", "a`b", "``a`b``"},
		{"run of backticks", "a``b`c", "```a``b`c```"},
		{"starts with backtick", "`x", "`` `x ``"},
		{"ends with backtick", "x`", "`` x` ``"},
		{"spaces both sides", " x ", "`  x  `"},
		{"space one side", " x", "` x`"},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Code(tt.in); got != tt.want {
				t.Errorf("Code(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}
