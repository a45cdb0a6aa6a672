// Package cmdutil is what the commands share: the Factory every command is
// made with (streams, global options, directories, plugin resolver), the
// errors that choose an exit code, loading runbooks with diagnostics
// printed as people read them.
package cmdutil
