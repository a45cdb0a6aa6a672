package identity

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/crypto/ssh"
)

// MaxKeyFileSize is the largest key file LoadKey reads.
const MaxKeyFileSize = 64 << 10

// ErrPassphrase is wrapped by the error LoadKey returns for a private key
// protected by a passphrase.
var ErrPassphrase = errors.New("the private key is protected by a passphrase")

// LoadKey reads a private key file, in OpenSSH or PEM format. Given a
// public key file instead (a .pub file, or any file holding a public key
// in authorized_keys format), it signs with that key's private key through
// ssh-agent, as git does with a user.signingkey that names a public key;
// when the agent (SSH_AUTH_SOCK) lacks the key and the path ends in .pub,
// the private key file beside it is read instead, as ssh-keygen -Y sign
// does. A private key protected by a passphrase is an error wrapping
// ErrPassphrase that says to add the key to ssh-agent and give its .pub
// file: LoadKey never prompts.
func LoadKey(path string) (*Key, error) {
	data, err := readFile(path)
	if err != nil {
		return nil, err
	}
	signer, err := ssh.ParsePrivateKey(data)
	if err == nil {
		return &Key{Signer: signer, Source: path}, nil
	}
	var missing *ssh.PassphraseMissingError
	if errors.As(err, &missing) {
		return nil, passphraseError(path)
	}
	pub, comment, _, _, pubErr := ssh.ParseAuthorizedKey(data)
	if pubErr != nil {
		return nil, fmt.Errorf("%s is neither an SSH private key nor an SSH public key (%v)", path, err)
	}
	return keyForPublic(path, pub, comment)
}

func passphraseError(path string) error {
	return fmt.Errorf("%s: %w; runbook does not ask for passphrases: add the key to ssh-agent (ssh-add %s) and give its public key file (%s.pub) instead",
		path, ErrPassphrase, path, path)
}

// keyForPublic finds the private key of pub, read from the public key
// file path: in ssh-agent, else in the private key file beside path.
func keyForPublic(path string, pub ssh.PublicKey, comment string) (*Key, error) {
	keys, agentErr := AgentKeys()
	for _, k := range keys {
		if bytes.Equal(k.Signer.PublicKey().Marshal(), pub.Marshal()) {
			if k.Comment == "" {
				k.Comment = comment
			}
			return k, nil
		}
	}
	if private, ok := strings.CutSuffix(path, ".pub"); ok {
		if _, err := os.Stat(private); err == nil {
			k, err := LoadKey(private)
			if err != nil {
				return nil, err
			}
			if !bytes.Equal(k.Signer.PublicKey().Marshal(), pub.Marshal()) {
				return nil, fmt.Errorf("%s does not hold the private key of %s", private, path)
			}
			return k, nil
		}
	}
	fp := ssh.FingerprintSHA256(pub)
	switch {
	case agentErr != nil:
		return nil, fmt.Errorf("%s is a public key (%s) whose private key must come from ssh-agent: %w", path, fp, agentErr)
	case os.Getenv("SSH_AUTH_SOCK") == "":
		return nil, fmt.Errorf("%s is a public key (%s) whose private key must come from ssh-agent, but SSH_AUTH_SOCK is not set", path, fp)
	}
	return nil, fmt.Errorf("%s is a public key (%s) whose private key is not in ssh-agent: add it with ssh-add", path, fp)
}

// readFile reads at most MaxKeyFileSize bytes of path; a longer file is an
// error.
func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read key: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxKeyFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read key %s: %w", path, err)
	}
	if len(data) > MaxKeyFileSize {
		return nil, fmt.Errorf("%s is not a key file: it is larger than %d bytes", path, MaxKeyFileSize)
	}
	return data, nil
}
