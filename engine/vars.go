package engine

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	hcljson "github.com/hashicorp/hcl/v2/json"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
	ctyjson "github.com/zclconf/go-cty/cty/json"

	"github.com/runbookdev/runbook/engine/redact"
	"github.com/runbookdev/runbook/plugins/safefile"
	"github.com/runbookdev/runbook/schema"
)

// SensitiveMark marks values derived from sensitive variables; anything
// carrying it is redacted wherever it would be shown or recorded.
const SensitiveMark = "sensitive"

// EnvPrefix is the prefix of variables set through the environment:
// RUNBOOK_VAR_prompt sets var.prompt.
const EnvPrefix = "RUNBOOK_VAR_"

// ParseVarFlag splits a --var NAME=VALUE argument.
func ParseVarFlag(arg string) (name, value string, err error) {
	name, value, ok := strings.Cut(arg, "=")
	name = strings.TrimSpace(name)
	if !ok || name == "" {
		return "", "", inputErrorf("--var %q: expected NAME=VALUE", arg)
	}
	return name, value, nil
}

// resolveVars resolves every variable of rb: --var flags, then var files,
// then RUNBOOK_VAR_NAME, then the default; converts each to its type, marks
// sensitive ones, and checks validation blocks. A missing required variable
// is asked for when a prompter is set, an error otherwise.
func resolveVars(ctx context.Context, rb *schema.Runbook, c *config) (cty.Value, error) {
	for name := range c.vars {
		if rb.Variable(name) == nil {
			return cty.NilVal, inputErrorf("runbook %q has no variable %q%s", rb.Name, name, varList(rb))
		}
	}
	fileVals, err := readVarFiles(rb, c.varFiles)
	if err != nil {
		return cty.NilVal, err
	}
	lookupEnv := c.env
	if lookupEnv == nil {
		lookupEnv = os.LookupEnv
	}

	vals := make(map[string]cty.Value, len(rb.Variables))
	for _, v := range rb.Variables {
		val, err := resolveVar(ctx, v, c, fileVals, lookupEnv)
		if err != nil {
			return cty.NilVal, err
		}
		if v.Sensitive {
			val = val.Mark(SensitiveMark)
		}
		vals[v.Name] = val
	}
	obj := cty.EmptyObjectVal
	if len(vals) > 0 {
		obj = cty.ObjectVal(vals)
	}
	if err := validateVars(rb, obj); err != nil {
		return cty.NilVal, err
	}
	return obj, nil
}

// readVarFiles reads every var file, later files over earlier ones; a name
// rb does not declare is an error positioned on it.
func readVarFiles(rb *schema.Runbook, paths []string) (map[string]fileValue, error) {
	fileVals := map[string]fileValue{}
	for _, path := range paths {
		vals, err := readVarFile(path)
		if err != nil {
			return nil, err
		}
		for name, v := range vals {
			if rb.Variable(name) == nil {
				rng := v.nameRng
				return nil, &InputError{
					Msg: fmt.Sprintf("%s:%d,%d: runbook %q has no variable %q%s", path, rng.Start.Line, rng.Start.Column, rb.Name, name, varList(rb)),
					Diags: hcl.Diagnostics{{
						Severity: hcl.DiagError,
						Summary:  "Unknown variable",
						Detail:   fmt.Sprintf("Runbook %q has no variable %q%s.", rb.Name, name, varList(rb)),
						Subject:  &rng,
					}},
				}
			}
			fileVals[name] = v
		}
	}
	return fileVals, nil
}

// validateVars checks every variable's validation blocks against the
// resolved variables, obj.
func validateVars(rb *schema.Runbook, obj cty.Value) error {
	evalCtx := &hcl.EvalContext{Variables: map[string]cty.Value{"var": obj}, Functions: schema.Functions(schema.FunctionsLive)}
	for _, v := range rb.Variables {
		for _, check := range v.Validations {
			ok, msg, err := evalCheck(evalCtx, check)
			if err != nil {
				return inputErrorf("variable %q: %s", v.Name, err)
			}
			if !ok {
				return inputErrorf("invalid value for variable %q: %s", v.Name, msg)
			}
		}
	}
	return nil
}

// resolveVar finds one variable's value, the first source that has it
// winning: the resumed run's record, the applied plan, --var, a test's
// values, var files, the environment, the default, then the prompter.
func resolveVar(ctx context.Context, v *schema.Variable, c *config, fileVals map[string]fileValue, lookupEnv func(string) (string, bool)) (cty.Value, error) {
	if c.resume != nil {
		if raw, ok := c.resume.Vars[v.Name]; ok && string(raw) != `"`+redact.Marker+`"` {
			return resumedVar(v, c, raw)
		}
	}
	if c.apply != nil && !v.Sensitive {
		return planVar(v, c.apply.Plan, lookupEnv)
	}
	if raw, ok := c.vars[v.Name]; ok {
		return parseRaw(v, raw, "--var "+v.Name)
	}
	if val, ok := c.varValues[v.Name]; ok {
		if err := schema.CheckInputNumbers(val, v.Type); err != nil {
			return cty.NilVal, inputErrorf("variable %q: %s", v.Name, err)
		}
		conv, err := convert.Convert(val, v.Type)
		if err != nil {
			return cty.NilVal, inputErrorf("variable %q: %s", v.Name, err)
		}
		return conv, nil
	}
	if fv, ok := fileVals[v.Name]; ok {
		return fileVar(v, fv)
	}
	if raw, ok := lookupEnv(EnvPrefix + v.Name); ok {
		return parseRaw(v, raw, EnvPrefix+v.Name)
	}
	if v.Default != nil {
		return defaultVar(v)
	}
	if c.prompter != nil {
		raw, err := c.prompter.Ask(ctx, v.Name, v.Description, v.Sensitive)
		if err != nil {
			return cty.NilVal, err
		}
		return parseRaw(v, raw, "the value entered for "+v.Name)
	}
	return cty.NilVal, inputErrorf("variable %q is required: give it with --var %s=VALUE, a --var-file, or %s%s", v.Name, v.Name, EnvPrefix, v.Name)
}

// resumedVar is a variable as the resumed run recorded it (raw): a resumed
// run has the inputs of the run it continues, and a --var that differs is
// an error.
func resumedVar(v *schema.Variable, c *config, raw []byte) (cty.Value, error) {
	val, err := ctyjson.Unmarshal(raw, v.Type)
	if err != nil {
		return cty.NilVal, inputErrorf("variable %q as recorded in run %s: %s", v.Name, c.resume.RunID, err)
	}
	if given, ok := c.vars[v.Name]; ok {
		gv, err := parseRaw(v, given, "--var "+v.Name)
		if err != nil || !gv.Equals(val).True() {
			return cty.NilVal, inputErrorf("--var %s: a resumed run keeps the inputs of run %s, where %s was %s", v.Name, c.resume.RunID, v.Name, raw)
		}
	}
	return val, nil
}

// fileVar converts a value from a var file to the variable's type; an
// error is positioned on the value.
func fileVar(v *schema.Variable, fv fileValue) (cty.Value, error) {
	if err := schema.CheckInputNumbers(fv.val, v.Type); err != nil {
		return cty.NilVal, inputErrorf("variable %q from a var file: %s", v.Name, err)
	}
	conv, err := convert.Convert(fv.val, v.Type)
	if err != nil {
		rng := fv.rng
		return cty.NilVal, &InputError{
			Msg: fmt.Sprintf("%s:%d,%d: invalid value for variable %q: %s", rng.Filename, rng.Start.Line, rng.Start.Column, v.Name, err),
			Diags: hcl.Diagnostics{{
				Severity: hcl.DiagError,
				Summary:  "Invalid value for variable",
				Detail:   fmt.Sprintf("Variable %q is a %s: %s.", v.Name, schema.TypeNoun(v.Type), err),
				Subject:  &rng,
			}},
		}
	}
	return conv, nil
}

// defaultVar evaluates a variable's default and converts it to its type.
func defaultVar(v *schema.Variable) (cty.Value, error) {
	val, diags := v.Default.Value(&hcl.EvalContext{Functions: schema.Functions(schema.FunctionsLive)})
	if diags.HasErrors() {
		return cty.NilVal, inputErrorf("default of variable %q: %s", v.Name, diags.Error())
	}
	conv, err := convert.Convert(val, v.Type)
	if err != nil {
		return cty.NilVal, inputErrorf("default of variable %q: %s", v.Name, err)
	}
	return conv, nil
}

// parseRaw converts a value given as text: strings are taken as they are,
// other types are parsed as HCL literals (5, true, ["a", "b"], {a = 1}).
func parseRaw(v *schema.Variable, raw, from string) (cty.Value, error) {
	if v.Type == cty.String {
		return cty.StringVal(raw), nil
	}
	shown := fmt.Sprintf("%q", raw)
	if v.Sensitive {
		shown = redact.Marker
	}
	if diags := schema.CheckHCLSource([]byte(raw), from); diags.HasErrors() {
		if v.Type == cty.DynamicPseudoType {
			return cty.StringVal(raw), nil
		}
		return cty.NilVal, inputErrorf("%s", diags.Error())
	}
	expr, diags := hclsyntax.ParseExpression([]byte(raw), from, hcl.InitialPos)
	if diags.HasErrors() {
		if v.Type == cty.DynamicPseudoType {
			return cty.StringVal(raw), nil
		}
		return cty.NilVal, inputErrorf("%s: %s is not a valid %s", from, shown, schema.TypeNoun(v.Type))
	}
	val, diags := expr.Value(nil)
	if diags.HasErrors() {
		if v.Type == cty.DynamicPseudoType {
			return cty.StringVal(raw), nil
		}
		return cty.NilVal, inputErrorf("%s: %s is not a valid %s (give a literal: 5, true, [\"a\"], {a = 1})", from, shown, schema.TypeNoun(v.Type))
	}
	if err := schema.CheckInputNumbers(val, v.Type); err != nil {
		return cty.NilVal, inputErrorf("%s: %s", from, err)
	}
	conv, err := convert.Convert(val, v.Type)
	if err != nil {
		return cty.NilVal, inputErrorf("%s: %s is not a valid %s: %s", from, shown, schema.TypeNoun(v.Type), err)
	}
	return conv, nil
}

// fileValue is a variable's value from a var file, with where it was set.
type fileValue struct {
	val          cty.Value
	rng, nameRng hcl.Range
}

// readVarFile reads a .hcl file of NAME = VALUE attributes or a .json
// object. Problems are HCL diagnostics, with the file, line, column and
// source of each (a JSON syntax error too), in an *InputError.
func readVarFile(path string) (map[string]fileValue, error) {
	src, err := safefile.ReadFile(path, schema.MaxSourceSize)
	if err != nil {
		return nil, inputErrorf("--var-file: %s", err)
	}
	var file *hcl.File
	var diags hcl.Diagnostics
	switch strings.ToLower(filepath.Ext(path)) {
	case ".json":
		if diags = schema.CheckJSONSource(src, path); !diags.HasErrors() {
			file, diags = hcljson.Parse(src, path)
		}
	case ".hcl":
		file, diags = schema.ParseHCL(src, path)
	default:
		return nil, inputErrorf("--var-file %s: use a .hcl or .json file", path)
	}
	if file == nil {
		// Refused before parsing (nesting, numbers): the source is shown.
		file = &hcl.File{Bytes: src}
	}
	files := map[string]*hcl.File{path: file}
	if diags.HasErrors() {
		return nil, diagError(path, files, diags)
	}
	attrs, diags := file.Body.JustAttributes()
	if diags.HasErrors() {
		return nil, diagError(path, files, diags)
	}
	out := map[string]fileValue{}
	for name, attr := range attrs {
		// No evaluation context: values are literals (and JSON strings are
		// taken as they are, not as templates).
		val, d := attr.Expr.Value(nil)
		for _, diag := range d {
			if diag.Severity == hcl.DiagError {
				diag.Summary = "Variable values must be literals"
			}
		}
		diags = append(diags, d...)
		out[name] = fileValue{val: val, rng: attr.Expr.Range(), nameRng: attr.NameRange}
	}
	if diags.HasErrors() {
		return nil, diagError(path, files, diags)
	}
	return out, nil
}

// diagError is the input error of a var file's diagnostics.
func diagError(path string, files map[string]*hcl.File, diags hcl.Diagnostics) error {
	return &InputError{Msg: "--var-file " + path + ": " + diags.Error(), Diags: diags, Files: files}
}

func varList(rb *schema.Runbook) string {
	if len(rb.Variables) == 0 {
		return " (it takes no variables)"
	}
	names := make([]string, len(rb.Variables))
	for i, v := range rb.Variables {
		names[i] = v.Name
	}
	sort.Strings(names)
	return "; its variables: " + strings.Join(names, ", ")
}

// evalCheck evaluates a condition and, when it does not hold, its message.
func evalCheck(ctx *hcl.EvalContext, check *schema.Check) (ok bool, msg string, err error) {
	val, diags := check.Condition.Value(ctx)
	if diags.HasErrors() {
		return false, "", fmt.Errorf("%s", diags.Error())
	}
	val, _ = val.Unmark()
	val, convErr := convert.Convert(val, cty.Bool)
	if convErr != nil || val.IsNull() || !val.IsKnown() {
		return false, "", fmt.Errorf("condition at %s is not a bool", check.Condition.Range())
	}
	if val.True() {
		return true, "", nil
	}
	return false, evalMessage(ctx, check.ErrorMessage), nil
}

// evalMessage evaluates an error message; a message that cannot be
// evaluated falls back to its source range rather than hiding the failure.
func evalMessage(ctx *hcl.EvalContext, expr hcl.Expression) string {
	msg, err := showText(ctx, expr)
	if err != nil {
		return fmt.Sprintf("(message at %s could not be evaluated)", expr.Range())
	}
	return msg
}
