package signers

import (
	"bytes"
	"time"

	"github.com/hashicorp/hcl/v2"
	"golang.org/x/crypto/ssh"
)

// MaxSize is the largest allowed_signers file Parse reads: 1 MiB.
const MaxSize = 1 << 20

// File is a parsed allowed_signers file.
type File struct {
	Filename string
	Entries  []Entry
}

// Entry is one line of an allowed_signers file.
type Entry struct {
	// Principals are the principals as written, patterns included.
	Principals []string
	// Namespaces are the namespace patterns the key may sign in; nil means
	// every namespace.
	Namespaces []string
	// ValidAfter and ValidBefore bound when the key may sign, inclusive;
	// a zero time is unbounded.
	ValidAfter, ValidBefore time.Time
	// CertAuthority marks a line whose key is a certificate authority.
	CertAuthority bool
	// Key is the line's public key.
	Key ssh.PublicKey
	// Range is the line, for diagnostics.
	Range hcl.Range
}

// Principals returns the literal principals (no pattern characters) that
// the file allows to sign in namespace at time at with key. Lines marked
// cert-authority are not matched: runbook does not accept certificates.
// The order is the file's, without duplicates.
func (f *File) Principals(key ssh.PublicKey, namespace string, at time.Time) []string {
	if f == nil || key == nil {
		return nil
	}
	want := key.Marshal()
	var out []string
	for i := range f.Entries {
		e := &f.Entries[i]
		if e.CertAuthority || !e.allowsNamespace(namespace) || !e.validAt(at) {
			continue
		}
		if !bytes.Equal(e.Key.Marshal(), want) {
			continue
		}
		out = e.appendLiterals(out)
	}
	return out
}

// Has reports whether principal is allowed, by a literal principal or a
// pattern, to sign in namespace by any line that is not cert-authority,
// whatever its key and ignoring its validity times.
func (f *File) Has(principal, namespace string) bool {
	if f == nil {
		return false
	}
	for i := range f.Entries {
		e := &f.Entries[i]
		if !e.CertAuthority && e.allowsNamespace(namespace) && matchList(principal, e.Principals) == 1 {
			return true
		}
	}
	return false
}

// Literal returns every literal principal that a line that is not
// cert-authority allows in namespace, whatever its key and ignoring its
// validity times, in file order without duplicates.
func (f *File) Literal(namespace string) []string {
	if f == nil {
		return nil
	}
	var out []string
	for i := range f.Entries {
		e := &f.Entries[i]
		if !e.CertAuthority && e.allowsNamespace(namespace) {
			out = e.appendLiterals(out)
		}
	}
	return out
}

// appendLiterals appends to out the entry's literal principals that its own
// list allows (a later !pattern may exclude one) and out lacks.
func (e *Entry) appendLiterals(out []string) []string {
	for _, p := range e.Principals {
		if !IsLiteral(p) || matchList(p, e.Principals) != 1 {
			continue
		}
		if !contains(out, p) {
			out = append(out, p)
		}
	}
	return out
}

func (e *Entry) allowsNamespace(namespace string) bool {
	return e.Namespaces == nil || matchList(namespace, e.Namespaces) == 1
}

func (e *Entry) validAt(at time.Time) bool {
	if !e.ValidAfter.IsZero() && at.Before(e.ValidAfter) {
		return false
	}
	return e.ValidBefore.IsZero() || !at.After(e.ValidBefore)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
