// Package sample gives tests their own pristine copy of the repository's
// sample state (examples/). The quick start changes that state in the
// working tree (a rollback moves a label), so a test that read it there
// would pass or fail depending on what the developer ran last: tests copy
// what `git checkout examples/` would restore instead, that is the files as
// git's index has them, and the working tree's files only outside a git
// checkout (a module download, which nothing has run in).
package sample
