package identity

import (
	"bytes"
	"crypto/rand"
	"crypto/sha512"
	"encoding/base64"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
)

// signedData is what an SSHSIG signature signs, after the magic "SSHSIG".
type signedData struct {
	Namespace, Reserved, HashAlgorithm, Hash string
}

// sigBlob is the SSHSIG signature blob, after the magic "SSHSIG".
type sigBlob struct {
	Version                                            uint32
	PublicKey, Namespace, Reserved, HashAlg, Signature string
}

// handSign makes an SSHSIG signature by hand, with the given signature
// algorithm, so that tests can make ones that Sign never would.
func handSign(t *testing.T, signer ssh.AlgorithmSigner, algorithm string, message []byte) string {
	t.Helper()
	h := sha512.Sum512(message)
	data := append([]byte("SSHSIG"), ssh.Marshal(signedData{Namespace: Namespace, HashAlgorithm: "sha512", Hash: string(h[:])})...)
	sig, err := signer.SignWithAlgorithm(rand.Reader, data, algorithm)
	if err != nil {
		t.Fatal(err)
	}
	blob := append([]byte("SSHSIG"), ssh.Marshal(sigBlob{
		Version: 1, PublicKey: string(signer.PublicKey().Marshal()), Namespace: Namespace,
		HashAlg: "sha512", Signature: string(ssh.Marshal(sig)),
	})...)
	return armor(blob)
}

func TestVerifyRefuses(t *testing.T) {
	ed := newKeyPair(t, t.TempDir(), "ed", "", "-t", "ed25519")
	rsa := newKeyPair(t, t.TempDir(), "rsa", "", "-t", "rsa", "-b", "2048")
	message := []byte("approve run 42\n")
	good := sshSign(t, ed.path, Namespace, message)

	rsaKey, err := LoadKey(rsa.path)
	if err != nil {
		t.Fatal(err)
	}
	rsaSigner := rsaKey.Signer.(ssh.AlgorithmSigner)
	if _, err := Verify(handSign(t, rsaSigner, ssh.KeyAlgoRSASHA512, message), message); err != nil {
		t.Fatalf("a hand-made rsa-sha2-512 signature does not verify, so the SHA-1 case below proves nothing: %v", err)
	}

	// Tamper with the signer's key (near the start) and with the signature
	// itself (near the end, before any padding).
	lines := strings.Split(good, "\n")
	tamperedKey := tamper(good, lines[1], 20)
	last := lines[len(lines)-3]
	tamperedSig := tamper(good, last, len(strings.TrimRight(last, "="))-2)

	tests := []struct {
		name, armored string
		message       []byte
		want          string // in the error
	}{
		{"another message", good, []byte("approve run 43\n"), "does not match"},
		{"another namespace", sshSign(t, ed.path, "git", message), message, `namespace "git"`},
		{"tampered key", tamperedKey, message, "SSH signature"},
		{"tampered signature", tamperedSig, message, "does not match"},
		{"garbage", "hello", message, "not an SSH signature"},
		{"no end", strings.TrimSuffix(strings.TrimSpace(good), armorEnd), message, "not an SSH signature"},
		{"bad base64", armorBegin + "\n!!!!\n" + armorEnd + "\n", message, "base64"},
		{"not a signature blob", armor([]byte("SSHSIG but not really")), message, "invalid SSH signature"},
		{"oversized", armorBegin + "\n" + strings.Repeat("A", MaxSignatureSize) + "\n" + armorEnd + "\n", message, "too large"},
		{"rsa with sha-1", handSign(t, rsaSigner, ssh.KeyAlgoRSA, message), message, "rsa"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pub, err := Verify(tt.armored, tt.message)
			if err == nil {
				t.Fatalf("Verify accepted it, with key %s", ssh.FingerprintSHA256(pub))
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not say %q", err, tt.want)
			}
		})
	}
}

// tamper replaces the base64 letter at i of line, in armored, by another.
func tamper(armored, line string, i int) string {
	b := []byte(line)
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return strings.Replace(armored, line, string(b), 1)
}

func TestArmor(t *testing.T) {
	for _, n := range []int{1, 52, 53, 104, 105, 300} {
		blob := bytes.Repeat([]byte{0xfb}, n)
		a := armor(blob)
		lines := strings.Split(strings.TrimSuffix(a, "\n"), "\n")
		if lines[0] != armorBegin || lines[len(lines)-1] != armorEnd {
			t.Errorf("%d bytes: armor lines %q", n, lines)
		}
		for _, l := range lines[1 : len(lines)-1] {
			if len(l) == 0 || len(l) > armorWidth {
				t.Errorf("%d bytes: a line of %d characters", n, len(l))
			}
		}
		got, err := dearmor(a)
		if err != nil || !bytes.Equal(got, blob) {
			t.Errorf("%d bytes: dearmor = %x, %v", n, got, err)
		}
		if want := base64.StdEncoding.EncodeToString(blob); strings.Join(lines[1:len(lines)-1], "") != want {
			t.Errorf("%d bytes: the base64 is not the blob's", n)
		}
	}
}
