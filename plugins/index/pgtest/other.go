//go:build !linux

package pgtest

// BinDir finds no server here: the test servers run on Linux.
func BinDir() (string, error) { return "", ErrNoServer }

// Start skips the test, or fails it where a server is required: the test
// servers run on Linux.
func Start(t TB) string {
	t.Helper()
	if Required() {
		t.Fatalf("%v", ErrNoServer)
	}
	t.Skip("PostgreSQL test servers run on Linux only")
	return ""
}
