package mcpcmd

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"

	"github.com/runbookdev/runbook/engine"
	"github.com/runbookdev/runbook/schema"
)

var varName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*$`)

// varArgs turns an agent's variables into what `runbook exec` takes: a
// --var flag for each, in name order, but for rb's sensitive variables,
// which go through the environment (RUNBOOK_VAR_NAME) so that no other
// user can read them on the command line. A string is passed as it is;
// any other JSON value as its JSON text, which the language reads as the
// same literal. rb may be nil (a runbook the server could not load): exec
// then reports it.
func varArgs(rb *schema.Runbook, vars map[string]any) (args, env []string, err error) {
	names := make([]string, 0, len(vars))
	for name := range vars {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if !varName.MatchString(name) {
			return nil, nil, fmt.Errorf("variables: %q is not a variable name", name)
		}
		value, err := varValue(vars[name])
		if err != nil {
			return nil, nil, fmt.Errorf("variables: %s: %w", name, err)
		}
		if v := rbVariable(rb, name); v != nil && v.Sensitive {
			env = append(env, engine.EnvPrefix+name+"="+value)
			continue
		}
		args = append(args, "--var", name+"="+value)
	}
	return args, env, nil
}

func rbVariable(rb *schema.Runbook, name string) *schema.Variable {
	if rb == nil {
		return nil
	}
	return rb.Variable(name)
}

func varValue(v any) (string, error) {
	switch v := v.(type) {
	case nil:
		return "", fmt.Errorf("null is not a value: leave the variable out to take its default")
	case string:
		return v, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	return string(b), nil
}
