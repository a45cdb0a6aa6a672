package host

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// ChecksumError is an external plugin whose binary is not the one its
// plugin block names: it is never started.
type ChecksumError struct {
	Plugin string
	Source string
	Want   string
	Got    string
}

func (e *ChecksumError) Error() string {
	return fmt.Sprintf("plugin %q: %s has sha256 %s, but its plugin block says sha256 = %q; refusing to run it (if the binary was updated on purpose, put its new checksum in the plugin block)", e.Plugin, e.Source, e.Got, e.Want)
}

// privateCopy copies src into dir, hashing it on the way, and returns the
// copy's path once its SHA-256 matches want. The host runs the copy: dir
// is private (0700) and the copy is written once, so what runs is what was
// hashed even if src is replaced after the check.
func privateCopy(name, src, want, dir string) (string, error) {
	want = strings.ToLower(strings.TrimSpace(want))
	dst := filepath.Join(dir, "runbook-plugin-"+name)
	var out *os.File
	err := hashPlugin(name, src, want, func() (io.Writer, error) {
		var err error
		out, err = os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o700)
		if err != nil {
			return nil, fmt.Errorf("plugin %q: private copy: %w", name, err)
		}
		return out, nil
	}, func() error { return out.Close() })
	if err != nil {
		return "", err
	}
	return dst, nil
}

// Verify checks, without running anything, that the binary of external
// plugin name at src has SHA-256 want: a *ChecksumError when it has not.
func Verify(name, src, want string) error {
	want = strings.ToLower(strings.TrimSpace(want))
	return hashPlugin(name, src, want, func() (io.Writer, error) { return io.Discard, nil }, func() error { return nil })
}

// hashPlugin reads the regular file src into the writer open gives (closed
// with closeOut once written) and compares its SHA-256 with want.
func hashPlugin(name, src, want string, open func() (io.Writer, error), closeOut func() error) error {
	if want == "" {
		return fmt.Errorf("plugin %q: no sha256 for %s; an external plugin runs only when its plugin block gives the binary's checksum (sha256 = \"…\", as printed by sha256sum)", name, src)
	}
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("plugin %q: %w", name, err)
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return fmt.Errorf("plugin %q: %w", name, err)
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("plugin %q: %s is not a regular file", name, src)
	}
	out, err := open()
	if err != nil {
		return err
	}
	h := sha256.New()
	_, err = io.Copy(io.MultiWriter(out, h), in)
	if cerr := closeOut(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("plugin %q: read %s: %w", name, src, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != want {
		return &ChecksumError{Plugin: name, Source: src, Want: want, Got: got}
	}
	return nil
}

// FileSHA256 returns the hex SHA-256 of a file, as sha256sum prints it.
func FileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("hash %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
