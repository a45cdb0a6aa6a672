package main

import (
	"testing"

	"github.com/runbookdev/runbook/plugins/sdk/sdktest"
)

func TestEcho(t *testing.T) {
	p := sdktest.New(t, echo())
	p.MustConfigure(sdktest.Args{"prefix": "> "})
	p.MustApply("say", sdktest.Args{"message": "hello"}).Want(map[string]any{"message": "> hello"})

	_, err := p.Apply("say", sdktest.Args{"message": " "})
	sdktest.WantArgError(t, err, "message")
}

// The prefix defaults to none.
func TestEchoDefaults(t *testing.T) {
	p := sdktest.New(t, echo())
	p.MustApply("say", sdktest.Args{"message": "hello"}).Want(map[string]any{"message": "hello"})
}
