package main

import (
	"context"
	"errors"
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/runbookdev/runbook/plugins"
	"github.com/runbookdev/runbook/plugins/grpcplugin"
	"github.com/runbookdev/runbook/plugins/sdk"
)

func TestEcho(t *testing.T) {
	p, err := sdk.New(echo())
	if err != nil {
		t.Fatal(err)
	}
	c := grpcplugin.TestClient(t, p)
	ctx := context.Background()
	if err := c.Configure(ctx, cty.ObjectVal(map[string]cty.Value{"prefix": cty.StringVal("> ")})); err != nil {
		t.Fatal(err)
	}
	say := func(msg string) (*plugins.ApplyResult, error) {
		return c.Apply(ctx, &plugins.ActionRequest{Action: "say", Args: cty.ObjectVal(map[string]cty.Value{"message": cty.StringVal(msg)})})
	}
	res, err := say("hello")
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Output.GetAttr("message").AsString(); got != "> hello" {
		t.Errorf("message %q", got)
	}
	_, err = say(" ")
	var pe *plugins.Error
	if !errors.As(err, &pe) || !pe.Path.Equals(cty.GetAttrPath("message")) {
		t.Errorf("empty message: %v", err)
	}
}
