// Command runbook-plugin-echo is an example of an external runbook plugin,
// written with the SDK in one file: its one action, echo.say, returns the
// message it is given. Build it and declare it in a runbook directory:
//
//	go build -o runbook-plugin-echo ./plugins/examples/echo
//	sha256sum runbook-plugin-echo
//
//	plugin "echo" {
//	  source = "./runbook-plugin-echo"
//	  sha256 = "…"                     # what sha256sum printed
//	  prefix = "echo: "                # optional
//	}
//
//	runbook "hello" {
//	  owner = "me"
//	  step "say" {
//	    action "echo.say" {
//	      message = "hello"
//	    }
//	  }
//	}
package main

import (
	"context"
	"strings"

	"github.com/zclconf/go-cty/cty"

	"github.com/runbookdev/runbook/plugins/sdk"
)

func main() {
	sdk.Serve(echo())
}

// echo describes the plugin; main serves it, the test drives it.
func echo() sdk.Plugin {
	return sdk.Plugin{
		Name:    "echo",
		Version: "1.0.0",
		Config: []*sdk.Attribute{{
			Name:        "prefix",
			Description: "Text put before every message.",
			Type:        cty.String,
			Default:     cty.StringVal(""),
			// Checked by runbook validate, from the lock file: no run needed.
			Validators: []*sdk.Validator{sdk.LengthBetween(-1, 16)},
		}},
		Actions: []*sdk.Action{{
			Name:        "say",
			Description: "Return the message it is given, after the configured prefix.",
			ReadOnly:    true,
			Args: []*sdk.Attribute{{
				Name:        "message",
				Description: "What to say.",
				Type:        cty.String,
				Required:    true,
			}},
			Output: cty.Object(map[string]cty.Type{"message": cty.String}),
			Apply: func(ctx context.Context, req *sdk.Request) (any, error) {
				msg := req.Args.String("message")
				if strings.TrimSpace(msg) == "" {
					return nil, sdk.ArgError("message", "Empty message", "echo.say needs something to say.")
				}
				return map[string]any{"message": req.Config.String("prefix") + msg}, nil
			},
		}},
	}
}
