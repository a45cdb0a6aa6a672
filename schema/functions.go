package schema

import (
	"errors"
	"os"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2/ext/tryfunc"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"
)

// FunctionMode selects how the functions that read the outside world behave.
type FunctionMode int

const (
	// FunctionsLive reads the environment and the clock.
	FunctionsLive FunctionMode = iota
	// FunctionsStatic returns unknown values from env() and timestamp(), as
	// validation must not depend on where it runs.
	FunctionsStatic
)

// Functions returns the function table expressions see: the go-cty standard
// library under Terraform's names plus env, strcontains and timestamp.
//
// A value derived from a sensitive value stays sensitive: every function's
// result carries the marks of its arguments, and an error of a function
// given a marked argument does not quote it.
func Functions(mode FunctionMode) map[string]function.Function {
	if mode == FunctionsStatic {
		return staticFunctions
	}
	return liveFunctions
}

// FunctionsReporting is Functions, and it calls derived with every known
// result a function computes from a marked argument (the engine masks
// what such a value looks like, wherever a plugin repeats it).
func FunctionsReporting(mode FunctionMode, derived func(cty.Value)) map[string]function.Function {
	return guardAll(buildFunctions(mode), derived)
}

var (
	liveFunctions   = guardAll(buildFunctions(FunctionsLive), nil)
	staticFunctions = guardAll(buildFunctions(FunctionsStatic), nil)
)

// SensitiveArgument is what a function's error says in place of its
// message when one of its arguments is sensitive: the message could
// quote it.
const SensitiveArgument = "the error is not shown because an argument is sensitive"

func guardAll(fns map[string]function.Function, derived func(cty.Value)) map[string]function.Function {
	for name, f := range fns {
		fns[name] = guard(f, derived)
	}
	return fns
}

// guard wraps f so that its result keeps the marks of every argument (some
// functions, given a marked argument, return an unmarked result) and its
// errors do not quote a marked argument. The wrapper accepts every kind
// of argument and leaves f to check, refine and short-cut as it does.
func guard(f function.Function, derived func(cty.Value)) function.Function {
	open := func(p function.Parameter) function.Parameter {
		p.AllowMarked, p.AllowUnknown, p.AllowDynamicType = true, true, true
		return p
	}
	spec := &function.Spec{Description: f.Description()}
	for _, p := range f.Params() {
		spec.Params = append(spec.Params, open(p))
	}
	if vp := f.VarParam(); vp != nil {
		p := open(*vp)
		spec.VarParam = &p
	}
	spec.Type = func(args []cty.Value) (cty.Type, error) {
		ty, err := f.ReturnTypeForValues(args)
		return ty, hideIfMarked(err, args)
	}
	spec.Impl = func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		ret, err := f.Call(args)
		if err != nil {
			return cty.NilVal, hideIfMarked(err, args)
		}
		for _, a := range args {
			if a.ContainsMarked() {
				_, marks := a.UnmarkDeep()
				ret = ret.WithMarks(marks)
			}
		}
		if derived != nil && ret.ContainsMarked() && ret.IsWhollyKnown() {
			derived(ret)
		}
		return ret, nil
	}
	return function.New(spec)
}

// hideIfMarked replaces err's message when an argument is marked, keeping
// which argument it is about.
func hideIfMarked(err error, args []cty.Value) error {
	if err == nil {
		return nil
	}
	for _, a := range args {
		if a.ContainsMarked() {
			var argErr function.ArgError
			if errors.As(err, &argErr) {
				return function.NewArgErrorf(argErr.Index, "%s", SensitiveArgument)
			}
			return errors.New(SensitiveArgument)
		}
	}
	return err
}

// buildFunctions is left long: it is one table, every function of the language by name.
func buildFunctions(mode FunctionMode) map[string]function.Function {
	fns := map[string]function.Function{
		"abs":             stdlib.AbsoluteFunc,
		"can":             tryfunc.CanFunc,
		"ceil":            stdlib.CeilFunc,
		"chomp":           stdlib.ChompFunc,
		"chunklist":       stdlib.ChunklistFunc,
		"coalesce":        stdlib.CoalesceFunc,
		"coalescelist":    stdlib.CoalesceListFunc,
		"compact":         stdlib.CompactFunc,
		"concat":          stdlib.ConcatFunc,
		"contains":        stdlib.ContainsFunc,
		"csvdecode":       stdlib.CSVDecodeFunc,
		"distinct":        stdlib.DistinctFunc,
		"element":         stdlib.ElementFunc,
		"flatten":         stdlib.FlattenFunc,
		"floor":           stdlib.FloorFunc,
		"format":          stdlib.FormatFunc,
		"formatdate":      stdlib.FormatDateFunc,
		"formatlist":      stdlib.FormatListFunc,
		"indent":          stdlib.IndentFunc,
		"join":            stdlib.JoinFunc,
		"jsondecode":      stdlib.JSONDecodeFunc,
		"jsonencode":      stdlib.JSONEncodeFunc,
		"keys":            stdlib.KeysFunc,
		"length":          lengthFunc,
		"log":             stdlib.LogFunc,
		"lookup":          stdlib.LookupFunc,
		"lower":           stdlib.LowerFunc,
		"max":             stdlib.MaxFunc,
		"merge":           stdlib.MergeFunc,
		"min":             stdlib.MinFunc,
		"parseint":        stdlib.ParseIntFunc,
		"pow":             stdlib.PowFunc,
		"range":           stdlib.RangeFunc,
		"regex":           stdlib.RegexFunc,
		"regexall":        stdlib.RegexAllFunc,
		"replace":         stdlib.ReplaceFunc,
		"reverse":         stdlib.ReverseListFunc,
		"setintersection": stdlib.SetIntersectionFunc,
		"setproduct":      stdlib.SetProductFunc,
		"setsubtract":     stdlib.SetSubtractFunc,
		"setunion":        stdlib.SetUnionFunc,
		"signum":          stdlib.SignumFunc,
		"slice":           stdlib.SliceFunc,
		"sort":            stdlib.SortFunc,
		"split":           stdlib.SplitFunc,
		"strcontains":     strcontainsFunc,
		"strrev":          stdlib.ReverseFunc,
		"substr":          stdlib.SubstrFunc,
		"timeadd":         stdlib.TimeAddFunc,
		"title":           stdlib.TitleFunc,
		"tobool":          stdlib.MakeToFunc(cty.Bool),
		"tolist":          stdlib.MakeToFunc(cty.List(cty.DynamicPseudoType)),
		"tomap":           stdlib.MakeToFunc(cty.Map(cty.DynamicPseudoType)),
		"tonumber":        stdlib.MakeToFunc(cty.Number),
		"toset":           stdlib.MakeToFunc(cty.Set(cty.DynamicPseudoType)),
		"tostring":        stdlib.MakeToFunc(cty.String),
		"trim":            stdlib.TrimFunc,
		"trimprefix":      stdlib.TrimPrefixFunc,
		"trimspace":       stdlib.TrimSpaceFunc,
		"trimsuffix":      stdlib.TrimSuffixFunc,
		"try":             tryfunc.TryFunc,
		"upper":           stdlib.UpperFunc,
		"values":          stdlib.ValuesFunc,
		"zipmap":          stdlib.ZipmapFunc,
	}
	if mode == FunctionsStatic {
		fns["env"] = unknownFunc(cty.String, "name")
		fns["timestamp"] = unknownFunc(cty.String)
	} else {
		fns["env"] = envFunc
		fns["timestamp"] = timestampFunc
	}
	return fns
}

// lengthFunc is Terraform's length: it counts the characters of a string as
// well as the elements of a collection, so `length(var.prompt) > 0` works.
var lengthFunc = function.New(&function.Spec{
	Description: "The number of characters in a string, or elements in a collection.",
	Params: []function.Parameter{{
		Name:             "value",
		Type:             cty.DynamicPseudoType,
		AllowDynamicType: true,
		AllowUnknown:     true,
		AllowMarked:      true,
	}},
	Type: func(args []cty.Value) (cty.Type, error) {
		ty := args[0].Type()
		switch {
		case ty == cty.String, ty == cty.DynamicPseudoType, ty.IsCollectionType(), ty.IsTupleType(), ty.IsObjectType():
			return cty.Number, nil
		default:
			return cty.NilType, function.NewArgErrorf(0, "argument must be a string, a collection type, or a structural type")
		}
	},
	RefineResult: func(b *cty.RefinementBuilder) *cty.RefinementBuilder {
		return b.NotNull().NumberRangeLowerBound(cty.Zero, true)
	},
	Impl: func(args []cty.Value, retType cty.Type) (cty.Value, error) {
		v, marks := args[0].Unmark()
		if v.Type() == cty.String {
			n, err := stdlib.Strlen(v)
			return n.WithMarks(marks), err
		}
		if !v.IsKnown() {
			return cty.UnknownVal(cty.Number).WithMarks(marks), nil
		}
		return v.Length().WithMarks(marks), nil
	},
})

var strcontainsFunc = function.New(&function.Spec{
	Description: "Whether a string contains a substring.",
	Params: []function.Parameter{
		{Name: "str", Type: cty.String},
		{Name: "substr", Type: cty.String},
	},
	Type:         function.StaticReturnType(cty.Bool),
	RefineResult: func(b *cty.RefinementBuilder) *cty.RefinementBuilder { return b.NotNull() },
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		return cty.BoolVal(strings.Contains(args[0].AsString(), args[1].AsString())), nil
	},
})

var envFunc = function.New(&function.Spec{
	Description: "The value of an environment variable, or \"\" when unset.",
	Params:      []function.Parameter{{Name: "name", Type: cty.String}},
	Type:        function.StaticReturnType(cty.String),
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		return cty.StringVal(os.Getenv(args[0].AsString())), nil
	},
})

var timestampFunc = function.New(&function.Spec{
	Description: "The current time in RFC 3339 format, UTC.",
	Type:        function.StaticReturnType(cty.String),
	Impl: func([]cty.Value, cty.Type) (cty.Value, error) {
		return cty.StringVal(time.Now().UTC().Format(time.RFC3339)), nil
	},
})

// unknownFunc stands in for a function whose result depends on where and
// when it runs: it checks its arguments' types and returns an unknown value.
func unknownFunc(ret cty.Type, params ...string) function.Function {
	spec := &function.Spec{
		Type: function.StaticReturnType(ret),
		Impl: func([]cty.Value, cty.Type) (cty.Value, error) {
			return cty.UnknownVal(ret), nil
		},
	}
	for _, p := range params {
		spec.Params = append(spec.Params, function.Parameter{Name: p, Type: cty.String, AllowUnknown: true})
	}
	return function.New(spec)
}
