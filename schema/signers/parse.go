package signers

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"
	"golang.org/x/crypto/ssh"
)

// DSA keys are named by their wire names: x/crypto deprecates its
// constants, and a line that names one is still an allowed_signers line.
const (
	keyAlgoDSA  = "ssh-dss"
	certAlgoDSA = "ssh-dss-cert-v01@openssh.com"
)

// keyTypes are the key types a line may name, certificates included.
var keyTypes = map[string]bool{
	ssh.KeyAlgoRSA: true, keyAlgoDSA: true,
	ssh.KeyAlgoECDSA256: true, ssh.KeyAlgoECDSA384: true, ssh.KeyAlgoECDSA521: true,
	ssh.KeyAlgoSKECDSA256: true, ssh.KeyAlgoED25519: true, ssh.KeyAlgoSKED25519: true,
	ssh.CertAlgoRSAv01: true, certAlgoDSA: true,
	ssh.CertAlgoECDSA256v01: true, ssh.CertAlgoECDSA384v01: true, ssh.CertAlgoECDSA521v01: true,
	ssh.CertAlgoSKECDSA256v01: true, ssh.CertAlgoED25519v01: true, ssh.CertAlgoSKED25519v01: true,
}

// optionNames are the options a line may give before its key.
var optionNames = map[string]bool{"cert-authority": true, "namespaces": true, "valid-after": true, "valid-before": true}

// Parse parses an allowed_signers file. src may be at most MaxSize bytes;
// a larger one is an error and yields no entries. Every bad line gets a
// diagnostic whose Subject points at what is wrong in it, and the good
// lines are kept. The returned File is never nil.
func Parse(filename string, src []byte) (*File, hcl.Diagnostics) {
	f := &File{Filename: filename}
	if len(src) > MaxSize {
		start := hcl.InitialPos
		return f, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Allowed signers file too large",
			Detail:   fmt.Sprintf("The file is %d bytes; an allowed signers file may be at most %d bytes (1 MiB).", len(src), MaxSize),
			Subject:  &hcl.Range{Filename: filename, Start: start, End: start},
		}}
	}
	var diags hcl.Diagnostics
	for num, offset := 1, 0; offset < len(src); num++ {
		end := len(src)
		if i := bytes.IndexByte(src[offset:], '\n'); i >= 0 {
			end = offset + i
		}
		text := strings.TrimSuffix(string(src[offset:end]), "\r")
		l := &line{filename: filename, num: num, start: offset, text: text}
		e, diag, ok := l.entry()
		switch {
		case diag != nil:
			diags = append(diags, diag)
		case ok:
			f.Entries = append(f.Entries, e)
		}
		offset = end + 1
	}
	return f, diags
}

// line is one line of the file being parsed, with a cursor.
type line struct {
	filename string
	num      int    // line number, from 1
	start    int    // byte offset of the line in the file
	text     string // the line without its end of line
	i        int    // cursor: a byte offset in text
}

func (l *line) pos(i int) hcl.Pos {
	return hcl.Pos{Line: l.num, Column: utf8.RuneCountInString(l.text[:i]) + 1, Byte: l.start + i}
}

func (l *line) rng(from, to int) hcl.Range {
	return hcl.Range{Filename: l.filename, Start: l.pos(from), End: l.pos(to)}
}

// fail returns an error diagnostic about text[from:to].
func (l *line) fail(from, to int, summary, detail string) *hcl.Diagnostic {
	subject, context := l.rng(from, to), l.rng(0, len(l.text))
	return &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary, Detail: detail, Subject: &subject, Context: &context}
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' }

func (l *line) skipSpace() {
	for l.i < len(l.text) && isSpace(l.text[l.i]) {
		l.i++
	}
}

// entry parses the line; ok is false for a blank line or a comment.
func (l *line) entry() (e Entry, diag *hcl.Diagnostic, ok bool) {
	l.skipSpace()
	if l.i == len(l.text) || l.text[l.i] == '#' {
		return e, nil, false
	}
	e.Range = l.rng(0, len(l.text))
	if e.Principals, diag = l.principals(); diag != nil {
		return e, diag, false
	}
	from, to, diag := l.field()
	if diag != nil {
		return e, diag, false
	}
	if tok := l.text[from:to]; !keyTypes[tok] {
		if !strings.ContainsAny(tok, "=,\"") && !optionNames[strings.ToLower(tok)] {
			return e, l.fail(from, to, "Unknown key type",
				fmt.Sprintf("%q is neither a key type (such as ssh-ed25519) nor a list of options.", tok)), false
		}
		if diag = l.options(&e, from, to); diag != nil {
			return e, diag, false
		}
		if from, to, diag = l.field(); diag != nil {
			return e, diag, false
		}
	}
	if diag = l.key(&e, from, to); diag != nil {
		return e, diag, false
	}
	return e, nil, true
}

// principals reads the comma-separated principals, quoted or not.
func (l *line) principals() ([]string, *hcl.Diagnostic) {
	from, to := l.i, 0
	if l.text[l.i] == '"' {
		end := strings.IndexByte(l.text[l.i+1:], '"')
		if end < 0 {
			return nil, l.fail(l.i, l.i+1, "Unterminated quote", "The quoted principals have no closing quote.")
		}
		from, to = l.i+1, l.i+1+end
		l.i = to + 1
		if l.i < len(l.text) && !isSpace(l.text[l.i]) {
			return nil, l.fail(l.i, l.i+1, "Invalid principals", "A space must follow the quoted principals.")
		}
	} else {
		for l.i < len(l.text) && !isSpace(l.text[l.i]) {
			l.i++
		}
		to = l.i
	}
	list := strings.Split(l.text[from:to], ",")
	at := from
	for _, p := range list {
		if p == "" {
			return nil, l.fail(at, min(at+1, to), "Empty principal",
				"The principals are a comma-separated list with an empty item; remove the extra comma.")
		}
		at += len(p) + 1
	}
	return list, nil
}

// field skips spaces and returns the bounds of the next space-delimited
// field, in which double quotes (with \" inside them) hide spaces.
func (l *line) field() (from, to int, diag *hcl.Diagnostic) {
	l.skipSpace()
	from = l.i
	if from == len(l.text) {
		return from, from, l.fail(from, from, "Missing key", "The line ends before its key: expected a key type such as ssh-ed25519, then the key in base64.")
	}
	quoted, open := false, 0
	for ; l.i < len(l.text) && (quoted || !isSpace(l.text[l.i])); l.i++ {
		switch c := l.text[l.i]; {
		case c == '"':
			quoted, open = !quoted, l.i
		case c == '\\' && quoted && l.i+1 < len(l.text) && l.text[l.i+1] == '"':
			l.i++
		}
	}
	if quoted {
		return from, l.i, l.fail(open, open+1, "Unterminated quote", "This quote has no closing quote.")
	}
	return from, l.i, nil
}

// key parses the key whose type is text[from:to] and whose base64 data
// follows; the rest of the line is a comment.
func (l *line) key(e *Entry, from, to int) *hcl.Diagnostic {
	typ := l.text[from:to]
	if !keyTypes[typ] {
		return l.fail(from, to, "Unknown key type", fmt.Sprintf("%q is not a key type that runbook knows, such as ssh-ed25519.", typ))
	}
	l.skipSpace()
	dataFrom := l.i
	for l.i < len(l.text) && !isSpace(l.text[l.i]) {
		l.i++
	}
	if dataFrom == l.i {
		return l.fail(dataFrom, dataFrom, "Missing key", "The key type is not followed by the key in base64.")
	}
	blob, err := base64.StdEncoding.DecodeString(l.text[dataFrom:l.i])
	if err != nil {
		return l.fail(dataFrom, l.i, "Invalid key", "The key is not valid base64: "+err.Error()+".")
	}
	key, err := ssh.ParsePublicKey(blob)
	if err != nil {
		return l.fail(dataFrom, l.i, "Invalid key", "The key cannot be read: "+err.Error()+".")
	}
	if key.Type() != typ {
		return l.fail(from, to, "Key type mismatch", fmt.Sprintf("The line says %s but its key is %s.", typ, key.Type()))
	}
	e.Key = key
	return nil
}
