// Package iostreams owns the terminal decisions of the command line: where
// output goes, whether a stream gets colour (and the colour scheme that
// follows from it), and whether a person can be asked a question.
package iostreams
