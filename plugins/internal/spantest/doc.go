// Package spantest gives the plugins' tests a span to call them under: a
// fixed span context, or a real span of an SDK TracerProvider whose spans
// are recorded.
package spantest
