package engine

import (
	"errors"
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/runbookdev/runbook/engine/redact"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// showText evaluates a string expression for people (a confirmation, a
// manual step, an error message). A value derived from a sensitive one is
// never shown: in a template, each part that is sensitive shows as
// "(sensitive)" and each part not known yet (dry-run) as "(known after
// run)"; any other expression that is either shows as that as a whole.
func showText(ctx *hcl.EvalContext, expr hcl.Expression) (string, error) {
	val, diags := expr.Value(ctx)
	if diags.HasErrors() {
		return "", errors.New(diags.Error())
	}
	if val.IsWhollyKnown() && !val.ContainsMarked() {
		return plainString(val, expr)
	}
	parts := templateParts(expr)
	if parts == nil {
		return placeholder(val), nil
	}
	var sb strings.Builder
	for _, part := range parts {
		v, diags := part.Value(ctx)
		switch {
		case diags.HasErrors():
			sb.WriteString(Unknown)
		case v.ContainsMarked() || !v.IsWhollyKnown():
			sb.WriteString(placeholder(v))
		default:
			if s, err := convert.Convert(v, cty.String); err == nil && !s.IsNull() {
				sb.WriteString(s.AsString())
			}
		}
	}
	return sb.String(), nil
}

// plainString converts a known, unmarked value to the string it shows as.
func plainString(val cty.Value, expr hcl.Expression) (string, error) {
	s, err := convert.Convert(val, cty.String)
	if err != nil || s.IsNull() {
		return "", fmt.Errorf("%s: not a string", expr.Range())
	}
	return s.AsString(), nil
}

// placeholder is what a value that cannot be shown shows as.
func placeholder(v cty.Value) string {
	if v.ContainsMarked() {
		return redact.Marker
	}
	return Unknown
}

// templateParts returns the parts of a string template, or nil for any
// other expression.
func templateParts(expr hcl.Expression) []hclsyntax.Expression {
	switch e := expr.(type) {
	case *hclsyntax.TemplateExpr:
		return e.Parts
	case *hclsyntax.TemplateWrapExpr:
		return []hclsyntax.Expression{e.Wrapped}
	}
	return nil
}
