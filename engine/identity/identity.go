package identity

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/hiddeco/sshsig"
	"golang.org/x/crypto/ssh"
)

// Namespace is the SSHSIG namespace of runbook's signatures; a signature
// made for another purpose (git's "git", "file") never verifies here.
const Namespace = "runbook"

// MaxSignatureSize is the largest armored signature Verify reads.
const MaxSignatureSize = 16 << 10

const (
	armorBegin = "-----BEGIN SSH SIGNATURE-----"
	armorEnd   = "-----END SSH SIGNATURE-----"
	armorWidth = 70 // the line length of ssh-keygen's armor
)

// Key is a private key that can sign, and where it came from.
type Key struct {
	Signer ssh.Signer
	// Source is the private key file the key was read from, or "ssh-agent"
	// when the agent signs.
	Source string
	// Comment is the key's comment as ssh-agent or its .pub file gives it;
	// it may be empty.
	Comment string
}

// Fingerprint returns the SHA-256 fingerprint of the key's public key, as
// ssh-keygen -l shows it: "SHA256:" and unpadded base64.
func (k *Key) Fingerprint() string {
	return ssh.FingerprintSHA256(k.Signer.PublicKey())
}

// Sign signs message in namespace Namespace, hashing it with SHA-512 (and
// signing with rsa-sha2-512 for an RSA key), and returns the armored
// signature exactly as `ssh-keygen -Y sign -n runbook` writes it.
func Sign(k *Key, message []byte) (string, error) {
	if k == nil || k.Signer == nil {
		return "", errors.New("sign: no key")
	}
	sig, err := sshsig.Sign(bytes.NewReader(message), k.Signer, sshsig.HashSHA512, Namespace)
	if err != nil {
		return "", fmt.Errorf("sign with %s key %s: %w", k.Signer.PublicKey().Type(), k.Fingerprint(), err)
	}
	return armor(sig.Marshal()), nil
}

// armor wraps a signature blob as ssh-keygen does: base64 in lines of 70
// characters between BEGIN and END lines, each line ending in a newline.
func armor(blob []byte) string {
	b64 := base64.StdEncoding.EncodeToString(blob)
	var b strings.Builder
	b.WriteString(armorBegin + "\n")
	for len(b64) > armorWidth {
		b.WriteString(b64[:armorWidth] + "\n")
		b64 = b64[armorWidth:]
	}
	b.WriteString(b64 + "\n" + armorEnd + "\n")
	return b.String()
}

// dearmor returns the blob of an armored signature. Blank space around the
// armor and inside the base64 is allowed; anything else is not.
func dearmor(armored string) ([]byte, error) {
	s := strings.TrimSpace(armored)
	body, ok := strings.CutPrefix(s, armorBegin)
	if !ok {
		return nil, fmt.Errorf("not an SSH signature: it does not start with %q", armorBegin)
	}
	body, ok = strings.CutSuffix(body, armorEnd)
	if !ok {
		return nil, fmt.Errorf("not an SSH signature: it does not end with %q", armorEnd)
	}
	body = strings.Map(func(r rune) rune {
		if r == ' ' || r == '\t' || r == '\r' || r == '\n' {
			return -1
		}
		return r
	}, body)
	blob, err := base64.StdEncoding.DecodeString(body)
	if err != nil {
		return nil, fmt.Errorf("SSH signature is not valid base64: %w", err)
	}
	return blob, nil
}

// Verify checks an armored signature over message in namespace Namespace
// and returns the public key that made it. It refuses a signature over
// MaxSignatureSize, one in another namespace, RSA signatures with SHA-1
// (ssh-rsa) as OpenSSH does, DSA keys, and certificates; the message hash
// may be SHA-256 or SHA-512.
func Verify(armored string, message []byte) (ssh.PublicKey, error) {
	if len(armored) > MaxSignatureSize {
		return nil, fmt.Errorf("SSH signature too large: %d bytes, the limit is %d", len(armored), MaxSignatureSize)
	}
	blob, err := dearmor(armored)
	if err != nil {
		return nil, err
	}
	sig, err := sshsig.ParseSignature(blob)
	if err != nil {
		return nil, fmt.Errorf("invalid SSH signature: %w", err)
	}
	switch pub := sig.PublicKey; {
	case sig.Namespace != Namespace:
		return nil, fmt.Errorf("SSH signature is for namespace %q, not %q", sig.Namespace, Namespace)
	case pub.Type() == "ssh-dss":
		return nil, errors.New("SSH signature made with a DSA key: DSA keys are not accepted")
	case isCertificate(pub):
		return nil, fmt.Errorf("SSH signature made with a certificate (%s): only plain keys are accepted", pub.Type())
	}
	if err := sshsig.Verify(bytes.NewReader(message), sig, sig.PublicKey, sig.HashAlgorithm, Namespace); err != nil {
		return nil, fmt.Errorf("SSH signature by %s key %s does not match the message: %w",
			sig.PublicKey.Type(), ssh.FingerprintSHA256(sig.PublicKey), err)
	}
	return sig.PublicKey, nil
}

func isCertificate(pub ssh.PublicKey) bool {
	_, ok := pub.(*ssh.Certificate)
	return ok
}
