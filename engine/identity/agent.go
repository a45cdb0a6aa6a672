package identity

import (
	"fmt"
	"io"
	"net"
	"os"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// AgentSource is the Source of a Key that ssh-agent signs with.
const AgentSource = "ssh-agent"

// agentTimeout bounds one exchange with ssh-agent. Signing may wait for a
// person (a key added with ssh-add -c, a security key to touch), so it is
// generous.
const agentTimeout = 2 * time.Minute

// AgentKeys returns the keys ssh-agent holds, in its order; nil, nil when
// SSH_AUTH_SOCK is unset. Certificates and keys this package cannot read
// are left out. Each Key's Signer signs through the agent: every call to
// Sign opens its own connection to the agent and closes it before
// returning, so a Key holds no connection, and AgentKeys closes the one
// it lists the keys on.
func AgentKeys() ([]*Key, error) {
	sock := os.Getenv("SSH_AUTH_SOCK")
	if sock == "" {
		return nil, nil
	}
	conn, err := dialAgent(sock)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	listed, err := agent.NewClient(conn).List()
	if err != nil {
		return nil, fmt.Errorf("list the keys of ssh-agent at %s: %w", sock, err)
	}
	var keys []*Key
	for _, k := range listed {
		pub, err := ssh.ParsePublicKey(k.Blob)
		if err != nil || isCertificate(pub) {
			continue
		}
		keys = append(keys, &Key{Signer: &agentSigner{sock: sock, pub: pub}, Source: AgentSource, Comment: k.Comment})
	}
	return keys, nil
}

func dialAgent(sock string) (net.Conn, error) {
	conn, err := net.DialTimeout("unix", sock, 10*time.Second)
	if err != nil {
		return nil, fmt.Errorf("connect to ssh-agent (SSH_AUTH_SOCK=%s): %w", sock, err)
	}
	if err := conn.SetDeadline(time.Now().Add(agentTimeout)); err != nil {
		conn.Close()
		return nil, fmt.Errorf("connect to ssh-agent (SSH_AUTH_SOCK=%s): %w", sock, err)
	}
	return conn, nil
}

// agentSigner is an ssh.AlgorithmSigner whose private key ssh-agent holds.
type agentSigner struct {
	sock string
	pub  ssh.PublicKey
}

func (s *agentSigner) PublicKey() ssh.PublicKey { return s.pub }

func (s *agentSigner) Sign(rand io.Reader, data []byte) (*ssh.Signature, error) {
	return s.SignWithAlgorithm(rand, data, "")
}

// SignWithAlgorithm asks the agent for a signature; for an RSA key the
// algorithm may be rsa-sha2-256 or rsa-sha2-512.
func (s *agentSigner) SignWithAlgorithm(_ io.Reader, data []byte, algorithm string) (*ssh.Signature, error) {
	var flags agent.SignatureFlags
	switch {
	case algorithm == "" || algorithm == s.pub.Type():
	case s.pub.Type() == ssh.KeyAlgoRSA && algorithm == ssh.KeyAlgoRSASHA256:
		flags = agent.SignatureFlagRsaSha256
	case s.pub.Type() == ssh.KeyAlgoRSA && algorithm == ssh.KeyAlgoRSASHA512:
		flags = agent.SignatureFlagRsaSha512
	default:
		return nil, fmt.Errorf("ssh-agent cannot sign with a %s key using %s", s.pub.Type(), algorithm)
	}
	conn, err := dialAgent(s.sock)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	sig, err := agent.NewClient(conn).SignWithFlags(s.pub, data, flags)
	if err != nil {
		return nil, fmt.Errorf("ssh-agent signing with %s: %w", ssh.FingerprintSHA256(s.pub), err)
	}
	return sig, nil
}
