package schema

import (
	"bytes"
	"fmt"
	"math/big"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// Limits on what runbook reads. The HCL and JSON parsers recurse once per
// level of nesting and parse a number's digits in time that grows with the
// square of their count, so a small hostile file (a pull request, a var file)
// could exhaust the stack or the CPU. Sources are scanned against these
// limits before they reach a parser; the scan keeps one entry per open level,
// so its memory is bounded by the limit too.
const (
	// MaxNesting is the deepest nesting of brackets, braces, parentheses,
	// template interpolations and directives that a source may hold; in
	// one expression, every operator, conditional and index counts as a
	// level too, since the parser and the evaluator recurse through each.
	MaxNesting = 256
	// MaxNumberDigits is the most digits a number may have.
	MaxNumberDigits = 100
	// MaxNumberExponent bounds the exponent of a number written with one,
	// and the magnitude of any number given as input: 1e308 at most, and
	// 1e-308 at least unless it is zero.
	MaxNumberExponent = 308
	// MaxSourceSize is the largest runbook file or var file that is read.
	MaxSourceSize = 8 << 20
)

var (
	maxMagnitude, _, _ = big.ParseFloat(fmt.Sprintf("1e%d", MaxNumberExponent+1), 10, 64, big.ToNearestEven)
	minMagnitude, _, _ = big.ParseFloat(fmt.Sprintf("1e-%d", MaxNumberExponent), 10, 64, big.ToNearestEven)
)

// CheckHCLSource reports where src nests deeper than MaxNesting or writes a
// number beyond the number limits. It understands strings, comments and
// heredocs well enough to skip their text; on anything it does not
// understand it errs towards counting more depth, not less.
func CheckHCLSource(src []byte, filename string) hcl.Diagnostics {
	s := newScanner(src, filename, MaxNesting)
	s.hcl()
	return s.diags
}

// ParseHCL parses a native-syntax file after checking it against the limits;
// the file is nil when the check fails.
func ParseHCL(src []byte, filename string) (*hcl.File, hcl.Diagnostics) {
	if diags := CheckHCLSource(src, filename); diags.HasErrors() {
		return nil, diags
	}
	return hclsyntax.ParseConfig(src, filename, hcl.InitialPos)
}

// CheckJSONSource is CheckHCLSource for a JSON document.
func CheckJSONSource(src []byte, filename string) hcl.Diagnostics {
	s := newScanner(src, filename, MaxNesting)
	s.json()
	return s.diags
}

// CheckInputNumbers reports a number in v (at any depth) beyond the number
// limits and, when the type v is converted to holds numbers, a string that
// the conversion would parse as one beyond them. Inputs are checked before
// they are converted: parsing a number's digits is what takes the time.
func CheckInputNumbers(v cty.Value, to cty.Type) error {
	v, _ = v.UnmarkDeep()
	strings := hasNumber(to)
	return cty.Walk(v, func(_ cty.Path, v cty.Value) (bool, error) {
		if v.IsNull() || !v.IsKnown() {
			return false, nil
		}
		switch {
		case v.Type() == cty.Number:
			return false, checkMagnitude(v.AsBigFloat())
		case v.Type() == cty.String && strings:
			return false, checkNumberText(v.AsString())
		}
		return true, nil
	})
}

func hasNumber(t cty.Type) bool {
	switch {
	case t == cty.Number:
		return true
	case t.IsCollectionType():
		return hasNumber(t.ElementType())
	case t.IsObjectType():
		for _, at := range t.AttributeTypes() {
			if hasNumber(at) {
				return true
			}
		}
	case t.IsTupleType():
		for _, et := range t.TupleElementTypes() {
			if hasNumber(et) {
				return true
			}
		}
	}
	return false
}

var errNumberRange = fmt.Errorf("number out of range: numbers lie within ±1e%d and, unless 0, are at least 1e-%d in magnitude", MaxNumberExponent, MaxNumberExponent)

func checkMagnitude(f *big.Float) error {
	abs := new(big.Float).Abs(f)
	if abs.IsInf() || abs.Cmp(maxMagnitude) >= 0 || (abs.Sign() != 0 && abs.Cmp(minMagnitude) < 0) {
		return errNumberRange
	}
	return nil
}

// checkNumberText checks a string that looks like a number, as a
// conversion to a number would parse it: its digits and its exponent.
func checkNumberText(s string) error {
	digits, exp, inExp := 0, 0, false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9' && inExp:
			exp = min(exp*10+int(c-'0'), MaxNumberExponent+1)
		case c >= '0' && c <= '9':
			digits++
		case c == 'e' || c == 'E':
			inExp = true
		case c == '.' || c == '-' || c == '+' || c == ' ':
		default:
			return nil // not a number
		}
	}
	switch {
	case digits > MaxNumberDigits:
		return fmt.Errorf("number too long: %d digits (limit %d)", digits, MaxNumberDigits)
	case exp > MaxNumberExponent:
		return errNumberRange
	}
	return nil
}

// frame is one open level: the byte that opened it, and what it contributes
// to the depth.
type frame struct {
	open  byte // ( [ { , '"' quoted string, '$' interpolation, '%' directive, 'h' heredoc, 'd' directive body
	depth int  // depth of everything inside this frame
	// outer is the enclosing item's count of operators when the frame was
	// opened: the item goes on after the frame closes.
	outer int
	// marker ends a heredoc; a directive body inherits its string's marker.
	marker string
	quoted bool // a directive body inside a quoted string
}

type scanner struct {
	src      []byte
	filename string
	limit    int // MaxNesting; tests use less
	// lastClose is where the last */ is: a /* after it opens no comment.
	lastClose int
	pos       int
	line      int
	lineAt    int // byte offset of the current line
	stack     []frame
	extra     int // conditionals and unary operators in the current item
	unary     int // unary operators waiting for their operand
	lastSig   byte
	diags     hcl.Diagnostics
	reported  bool
}

func newScanner(src []byte, filename string, limit int) *scanner {
	return &scanner{src: src, filename: filename, limit: limit, line: 1, lastSig: '(', lastClose: bytes.LastIndex(src, []byte("*/"))}
}

func (s *scanner) here() hcl.Pos {
	col := utf8.RuneCount(s.src[s.lineAt:min(s.pos, len(s.src))]) + 1
	return hcl.Pos{Line: s.line, Column: col, Byte: s.pos}
}

func (s *scanner) fail(summary, detail string) {
	if s.reported {
		return
	}
	s.reported = true
	start := s.here()
	end := start
	if s.pos < len(s.src) {
		end.Byte++
		end.Column++
	}
	s.diags = append(s.diags, &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  summary,
		Detail:   detail,
		Subject:  &hcl.Range{Filename: s.filename, Start: start, End: end},
	})
}

func (s *scanner) baseDepth() int {
	if len(s.stack) == 0 {
		return 0
	}
	return s.stack[len(s.stack)-1].depth
}

func (s *scanner) top() *frame {
	if len(s.stack) == 0 {
		return nil
	}
	return &s.stack[len(s.stack)-1]
}

// push opens a level; it reports false (and a diagnostic) beyond the limit.
func (s *scanner) push(f frame) bool {
	f.depth = s.baseDepth() + s.extra + s.unary + 1
	f.outer = s.extra
	if f.depth > s.limit {
		s.tooDeep()
		return false
	}
	s.stack = append(s.stack, f)
	s.extra, s.unary = 0, 0
	return true
}

func (s *scanner) tooDeep() {
	s.fail("Nesting too deep", fmt.Sprintf("This nests deeper than %d levels: every bracket, brace, parenthesis, template and, within one expression, every operator, conditional and index counts. runbook refuses deeper nesting rather than exhaust its stack.", s.limit))
}

func (s *scanner) pop() {
	s.extra, s.unary = s.top().outer, 0
	s.stack = s.stack[:len(s.stack)-1]
}

// deepen counts an operator, a conditional or an index in the current item.
func (s *scanner) deepen(unary bool) bool {
	if unary {
		s.unary++
	} else {
		s.extra++
	}
	if s.baseDepth()+s.extra+s.unary > s.limit {
		s.tooDeep()
		return false
	}
	return true
}

func (s *scanner) newline() {
	s.line++
	s.lineAt = s.pos + 1
}

func (s *scanner) peek(off int) byte {
	if s.pos+off < len(s.src) {
		return s.src[s.pos+off]
	}
	return 0
}

func isIdentByte(c byte) bool {
	return c == '_' || c == '-' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
}

// isBinaryOperator reports the first byte of a binary operator (the minus
// of a subtraction is told from a negation by what precedes it).
func isBinaryOperator(c byte) bool {
	switch c {
	case '+', '-', '*', '/', '%', '<', '>', '=', '!', '&', '|':
		return true
	}
	return false
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// number scans a number literal at s.pos and checks it against the limits.
func (s *scanner) number(allowLeadingMinus bool) bool {
	start := s.pos
	if allowLeadingMinus && s.peek(0) == '-' {
		s.pos++
	}
	digits := 0
	for s.pos < len(s.src) && isDigit(s.src[s.pos]) {
		digits++
		s.pos++
	}
	if s.peek(0) == '.' && isDigit(s.peek(1)) {
		s.pos++
		for s.pos < len(s.src) && isDigit(s.src[s.pos]) {
			digits++
			s.pos++
		}
	}
	exp := 0
	if c := s.peek(0); c == 'e' || c == 'E' {
		off := 1
		if c := s.peek(1); c == '+' || c == '-' {
			off = 2
		}
		if isDigit(s.peek(off)) {
			s.pos += off
			for s.pos < len(s.src) && isDigit(s.src[s.pos]) {
				if exp <= MaxNumberExponent {
					exp = exp*10 + int(s.src[s.pos]-'0')
				}
				s.pos++
			}
		}
	}
	if digits > MaxNumberDigits || exp > MaxNumberExponent {
		end := s.pos
		s.pos = start
		if digits > MaxNumberDigits {
			s.fail("Number too long", fmt.Sprintf("This number has %d digits; runbook accepts at most %d.", digits, MaxNumberDigits))
		} else {
			s.fail("Number out of range", fmt.Sprintf("This number's exponent is beyond %d; runbook accepts numbers within ±1e%d.", MaxNumberExponent, MaxNumberExponent))
		}
		s.pos = end
		return false
	}
	s.pos-- // the loop steps past the last byte
	return true
}

// hcl scans native syntax. It returns at the first problem.
func (s *scanner) hcl() {
	// The lexer reads bytes that are not UTF-8 its own way; rather than
	// follow it, such a source is refused (HCL would refuse it too).
	if !utf8.Valid(s.src) {
		for s.pos < len(s.src) {
			r, n := utf8.DecodeRune(s.src[s.pos:])
			if r == utf8.RuneError && n <= 1 {
				break
			}
			s.pos += n
		}
		s.fail("Invalid character encoding", "Runbook files are UTF-8; this byte is not part of a UTF-8 character.")
		return
	}
	for ; s.pos < len(s.src); s.pos++ {
		f := s.top()
		var ok bool
		if f != nil && (f.open == '"' || f.open == 'h' || f.open == 'd') {
			ok = s.templateByte(f)
		} else {
			ok = s.codeByte()
		}
		if !ok {
			return
		}
	}
}

// codeByte handles one byte (or token) of expressions and blocks.
func (s *scanner) codeByte() bool {
	c := s.src[s.pos]
	if s.layout(c) {
		return true
	}
	prev := s.lastSig
	s.lastSig = c
	switch {
	case c == '[' && !isOperatorByte(prev):
		// An index: a[x][x]… nests one expression in the next.
		return s.deepen(false) && s.push(frame{open: c})
	case c == '(' || c == '[' || c == '{':
		return s.push(frame{open: c})
	case c == ')' || c == ']' || c == '}':
		if f := s.top(); f != nil && closes(c, f.open) {
			s.pop()
		}
		return true
	case c == ',':
		s.extra, s.unary = 0, 0
		return true
	case c == '?':
		s.unary = 0
		return s.deepen(false)
	case (c == '!' && s.peek(1) != '=') || (c == '-' && isOperatorByte(prev)):
		return s.deepen(true)
	case c == '=' && s.peek(1) != '=':
		if s.peek(1) == '>' {
			s.pos++
		}
		return true // an assignment or =>, not an operator
	case c == '<' && s.peek(1) == '<':
		return s.heredoc()
	case c == '"':
		s.unary = 0
		return s.push(frame{open: '"'})
	case isBinaryOperator(c):
		if n := s.peek(1); n == '=' || (n == c && (c == '&' || c == '|')) {
			s.pos++ // ==, !=, <=, >=, &&, ||
		}
		return s.deepen(false)
	case isDigit(c):
		s.unary = 0
		return s.number(false)
	case c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'):
		// An identifier; one that starts or goes on with a character
		// beyond ASCII is scanned a byte at a time, so that digits after a
		// character the lexer does not take as a letter are still checked
		// as a number.
		s.unary = 0
		for s.pos+1 < len(s.src) && isIdentByte(s.src[s.pos+1]) {
			s.pos++
		}
		return true
	default:
		return true
	}
}

// layout skips what separates tokens at s.pos: a newline (which ends an
// expression outside brackets), blanks and comments. It reports whether c
// was one of them.
func (s *scanner) layout(c byte) bool {
	switch {
	case c == '\n':
		s.newline()
		if f := s.top(); f == nil || f.open == '{' {
			s.extra, s.unary = 0, 0
		}
		return true
	case c == ' ' || c == '\t' || c == '\r':
		return true
	case c == '#' || (c == '/' && s.peek(1) == '/'):
		for s.pos < len(s.src) && s.src[s.pos] != '\n' {
			s.pos++
		}
		s.pos-- // the newline is handled by the loop
		return true
	case c == '/' && s.peek(1) == '*' && s.pos+2 <= s.lastClose:
		// A comment; without a */ after it, the lexer reads / and *.
		end := s.pos + 2 + bytes.Index(s.src[s.pos+2:], []byte("*/"))
		for ; s.pos < end; s.pos++ {
			if s.src[s.pos] == '\n' {
				s.newline()
			}
		}
		s.pos++ // on the '/'
		return true
	}
	return false
}

// heredoc handles << at s.pos: the start of a heredoc when a marker
// follows, a shift operator otherwise.
func (s *scanner) heredoc() bool {
	m, n := heredocMarker(s.src[s.pos+2:])
	if m == "\x80" {
		s.fail("Unsupported heredoc marker", "A heredoc's marker is made of ASCII letters, digits, underscores and dashes, like EOT.")
		return false
	}
	if m != "" {
		s.unary = 0
		if !s.push(frame{open: 'h', marker: m}) {
			return false
		}
		s.pos += 2 + n // on the newline
		s.heredocLine(s.top())
		return true
	}
	return s.deepen(false)
}

// closes reports whether the closing byte c ends a frame opened by open.
func closes(c, open byte) bool {
	switch c {
	case ')':
		return open == '('
	case ']':
		return open == '['
	default:
		return open == '{' || open == '$' || open == '%'
	}
}

func isOperatorByte(c byte) bool {
	switch c {
	case '(', '[', '{', ',', '=', '?', ':', '!', '-', '+', '*', '/', '%', '<', '>', '&', '|':
		return true
	}
	return false
}

// heredocMarker parses the rest of "<<EOT\n" or "<<-EOT\n" after the "<<":
// the marker and the bytes up to the newline; "\x80" for a marker with
// characters beyond ASCII.
func heredocMarker(b []byte) (string, int) {
	i := 0
	if i < len(b) && b[i] == '-' {
		i++
	}
	start, ascii := i, true
	// The marker is an identifier: it starts with a letter or an
	// underscore, as in the lexer ("<<0" is a shift, not a heredoc).
	if i >= len(b) || !(b[i] == '_' || (b[i] >= 'a' && b[i] <= 'z') || (b[i] >= 'A' && b[i] <= 'Z') || b[i] >= 0x80) {
		return "", 0
	}
	for i < len(b) && (isIdentByte(b[i]) || b[i] >= 0x80) {
		ascii = ascii && b[i] < 0x80
		i++
	}
	if i == start {
		return "", 0
	}
	marker := string(b[start:i])
	if i < len(b) && b[i] == '\r' {
		i++
	}
	if i >= len(b) || b[i] != '\n' {
		return "", 0
	}
	if !ascii {
		// Which characters beyond ASCII the lexer takes in a marker is
		// not worth matching: such a marker is refused.
		return "\x80", i
	}
	return marker, i
}

// templateByte handles one byte of a quoted string, a heredoc or a
// directive's body.
func (s *scanner) templateByte(f *frame) bool {
	c := s.src[s.pos]
	quoted := f.open == '"' || (f.open == 'd' && f.quoted)
	switch {
	case c == '\n':
		if quoted {
			// The lexer reports a newline in a quoted string, and goes on
			// in the string: so does the scan.
			s.newline()
			return true
		}
		s.heredocLine(f)
		return true
	case c == '\\' && quoted:
		s.pos++
		return true
	case c == '"' && quoted:
		s.popString()
		return true
	case (c == '$' || c == '%') && s.peek(1) == c && s.peek(2) == '{':
		s.pos += 2 // an escaped $${ or %%{
		return true
	case c == '$' && s.peek(1) == '{':
		s.pos++
		return s.push(frame{open: '$'})
	case c == '%' && s.peek(1) == '{':
		kw := directiveKeyword(s.src[s.pos+2:])
		switch kw {
		case "if", "for":
			if !s.push(frame{open: 'd', marker: f.marker, quoted: quoted}) {
				return false
			}
		case "endif", "endfor":
			if t := s.top(); t.open == 'd' {
				s.pop()
			}
		}
		s.pos++
		return s.push(frame{open: '%'})
	}
	return true
}

// heredocLine handles the newline at s.pos inside a heredoc: when the next
// line is the heredoc's marker, the heredoc ends and the scan continues on
// the marker's last byte, in code.
func (s *scanner) heredocLine(f *frame) {
	s.newline()
	if m := f.marker; m != "" && endsHeredoc(s.src[s.pos+1:], m) {
		s.popString()
		s.pos += len(lineOf(s.src[s.pos+1:]))
	}
}

// popString closes the innermost string with the directive bodies open in it.
func (s *scanner) popString() {
	for len(s.stack) > 0 {
		open := s.top().open
		s.pop()
		if open == '"' || open == 'h' {
			return
		}
	}
}

func directiveKeyword(b []byte) string {
	i := 0
	if i < len(b) && b[i] == '~' {
		i++
	}
	for i < len(b) && (b[i] == ' ' || b[i] == '\t') {
		i++
	}
	start := i
	for i < len(b) && b[i] >= 'a' && b[i] <= 'z' {
		i++
	}
	return string(b[start:i])
}

func lineOf(b []byte) []byte {
	for i, c := range b {
		if c == '\n' {
			return b[:i]
		}
	}
	return b
}

// endsHeredoc reports whether the line at the start of rest closes a heredoc,
// as the lexer decides it: the marker alone on its line, give or take
// white space, and a newline after it.
func endsHeredoc(rest []byte, marker string) bool {
	line := lineOf(rest)
	return len(line) < len(rest) && string(bytes.TrimSpace(line)) == marker
}

// json scans a JSON document.
func (s *scanner) json() {
	for ; s.pos < len(s.src); s.pos++ {
		c := s.src[s.pos]
		switch {
		case c == '\n':
			s.newline()
		case c == '[' || c == '{':
			if !s.push(frame{open: c}) {
				return
			}
		case c == ']' || c == '}':
			if f := s.top(); f != nil && (f.open == c-2) {
				s.pop()
			}
		case c == '"':
			for s.pos++; s.pos < len(s.src) && s.src[s.pos] != '"'; s.pos++ {
				if s.src[s.pos] == '\\' {
					s.pos++
				} else if s.src[s.pos] == '\n' {
					s.newline()
				}
			}
		case c == '-' || isDigit(c):
			if !s.number(true) {
				return
			}
		}
	}
}
