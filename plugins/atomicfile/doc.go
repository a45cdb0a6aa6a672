// Package atomicfile replaces files so that a reader, or a crash, sees either
// the old content or the new, never a half-written file.
package atomicfile
