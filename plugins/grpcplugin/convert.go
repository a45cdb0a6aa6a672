package grpcplugin

import (
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/zclconf/go-cty/cty"
	ctymsgpack "github.com/zclconf/go-cty/cty/msgpack"

	"github.com/runbookdev/runbook/plugins"
	pb "github.com/runbookdev/runbook/plugins/proto/runbookplugin/v1"
)

// encodeValue encodes v as msgpack of type ty. Marks (sensitivity) do not
// cross the wire: the plugin needs the real values, and the host re-marks
// what it shows.
func encodeValue(v cty.Value, ty cty.Type) (*pb.DynamicValue, error) {
	if v == cty.NilVal {
		v = cty.NullVal(ty)
	}
	v, _ = v.UnmarkDeep()
	b, err := ctymsgpack.Marshal(v, ty)
	if err != nil {
		return nil, fmt.Errorf("encode value: %w", err)
	}
	return &pb.DynamicValue{Msgpack: b}, nil
}

// decodeValue decodes a value of type ty; an absent value is null.
func decodeValue(dv *pb.DynamicValue, ty cty.Type) (cty.Value, error) {
	if dv == nil || len(dv.Msgpack) == 0 {
		return cty.NullVal(ty), nil
	}
	v, err := ctymsgpack.Unmarshal(dv.Msgpack, ty)
	if err != nil {
		return cty.NilVal, fmt.Errorf("decode value: %w", err)
	}
	return v, nil
}

// encodeTyped encodes a value together with its own type.
func encodeTyped(v cty.Value) (*pb.TypedValue, error) {
	if v == cty.NilVal {
		return nil, nil
	}
	v, _ = v.UnmarkDeep()
	b, err := ctymsgpack.Marshal(v, cty.DynamicPseudoType)
	if err != nil {
		return nil, fmt.Errorf("encode value: %w", err)
	}
	return &pb.TypedValue{Msgpack: b}, nil
}

func decodeTyped(tv *pb.TypedValue) (cty.Value, error) {
	if tv == nil {
		return cty.NilVal, nil
	}
	v, err := ctymsgpack.Unmarshal(tv.Msgpack, cty.DynamicPseudoType)
	if err != nil {
		return cty.NilVal, fmt.Errorf("decode value: %w", err)
	}
	return v, nil
}

func encodeType(ty cty.Type) ([]byte, error) {
	b, err := ty.MarshalJSON()
	if err != nil {
		return nil, fmt.Errorf("encode type %s: %w", ty.FriendlyName(), err)
	}
	return b, nil
}

func decodeType(b []byte) (cty.Type, error) {
	var ty cty.Type
	if err := ty.UnmarshalJSON(b); err != nil {
		return cty.NilType, fmt.Errorf("decode type: %w", err)
	}
	return ty, nil
}

// schemaToProto encodes a schema, its actions in name order.
func schemaToProto(s *plugins.Schema) (*pb.Schema, error) {
	out := &pb.Schema{Predicts: s.Predicts, ChecksPlans: s.ChecksPlans}
	var err error
	if out.Config, err = attributesToProto(s.Config); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	for _, name := range s.ActionNames() {
		a := s.Actions[name]
		pa := &pb.Action{Name: a.Name, Description: a.Description, ReadOnly: a.ReadOnly}
		if pa.Args, err = attributesToProto(a.Args); err != nil {
			return nil, fmt.Errorf("action %s: %w", name, err)
		}
		if pa.Output, err = encodeType(a.Output); err != nil {
			return nil, fmt.Errorf("action %s: output: %w", name, err)
		}
		if r := a.ReadOnlyWhen; r != nil {
			pr := &pb.ReadOnlyRule{Arg: r.Arg}
			for _, v := range r.Values {
				tv, err := encodeTyped(v)
				if err != nil {
					return nil, fmt.Errorf("action %s: read-only rule: %w", name, err)
				}
				pr.Values = append(pr.Values, tv)
			}
			pa.ReadOnlyWhen = pr
		}
		out.Actions = append(out.Actions, pa)
	}
	return out, nil
}

func attributesToProto(attrs []*plugins.Attribute) ([]*pb.Attribute, error) {
	out := make([]*pb.Attribute, 0, len(attrs))
	for _, a := range attrs {
		ty, err := encodeType(a.Type)
		if err != nil {
			return nil, fmt.Errorf("attribute %s: %w", a.Name, err)
		}
		def, err := encodeTyped(a.Default)
		if err != nil {
			return nil, fmt.Errorf("attribute %s: default: %w", a.Name, err)
		}
		validators, err := validatorsToProto(a.Validators)
		if err != nil {
			return nil, fmt.Errorf("attribute %s: %w", a.Name, err)
		}
		out = append(out, &pb.Attribute{
			Name:        a.Name,
			Description: a.Description,
			Type:        ty,
			Required:    a.Required,
			Sensitive:   a.Sensitive,
			Default:     def,
			Path:        a.Path,
			Validators:  validators,
		})
	}
	return out, nil
}

// schemaFromProto decodes a schema and checks that the host can use it.
func schemaFromProto(ps *pb.Schema) (*plugins.Schema, error) {
	if ps == nil {
		return nil, errors.New("no schema")
	}
	s := &plugins.Schema{Actions: make(map[string]*plugins.Action, len(ps.Actions)), Predicts: ps.Predicts, ChecksPlans: ps.ChecksPlans}
	var err error
	if s.Config, err = attributesFromProto(ps.Config); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	for _, pa := range ps.Actions {
		if _, dup := s.Actions[pa.Name]; dup {
			return nil, fmt.Errorf("action %q declared twice", pa.Name)
		}
		a := &plugins.Action{Name: pa.Name, Description: pa.Description, ReadOnly: pa.ReadOnly}
		if a.Args, err = attributesFromProto(pa.Args); err != nil {
			return nil, fmt.Errorf("action %s: %w", pa.Name, err)
		}
		if a.Output, err = decodeType(pa.Output); err != nil {
			return nil, fmt.Errorf("action %s: output: %w", pa.Name, err)
		}
		if pr := pa.ReadOnlyWhen; pr != nil {
			r := &plugins.ReadOnlyRule{Arg: pr.Arg}
			for _, tv := range pr.Values {
				v, err := decodeTyped(tv)
				if err != nil {
					return nil, fmt.Errorf("action %s: read-only rule: %w", pa.Name, err)
				}
				r.Values = append(r.Values, v)
			}
			a.ReadOnlyWhen = r
		}
		s.Actions[pa.Name] = a
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return s, nil
}

func attributesFromProto(attrs []*pb.Attribute) ([]*plugins.Attribute, error) {
	var out []*plugins.Attribute
	for _, pa := range attrs {
		ty, err := decodeType(pa.Type)
		if err != nil {
			return nil, fmt.Errorf("attribute %s: %w", pa.Name, err)
		}
		def, err := decodeTyped(pa.Default)
		if err != nil {
			return nil, fmt.Errorf("attribute %s: default: %w", pa.Name, err)
		}
		validators, err := validatorsFromProto(pa.Validators)
		if err != nil {
			return nil, fmt.Errorf("attribute %s: %w", pa.Name, err)
		}
		out = append(out, &plugins.Attribute{
			Name:        pa.Name,
			Description: pa.Description,
			Type:        ty,
			Required:    pa.Required,
			Sensitive:   pa.Sensitive,
			Default:     def,
			Path:        pa.Path,
			Validators:  validators,
		})
	}
	return out, nil
}

func validatorsToProto(vs []*plugins.Validator) ([]*pb.Validator, error) {
	var out []*pb.Validator
	for _, v := range vs {
		if v == nil {
			return nil, errors.New("nil validator")
		}
		pv := &pb.Validator{Pattern: v.Pattern}
		for _, o := range v.OneOf {
			tv, err := encodeTyped(o)
			if err != nil {
				return nil, fmt.Errorf("one_of validator: %w", err)
			}
			pv.OneOf = append(pv.OneOf, tv)
		}
		if v.URL != nil {
			pv.Url = &pb.Validator_Url{Schemes: v.URL.Schemes}
		}
		pv.Range = boundsToProto(v.Range)
		pv.Length = boundsToProto(v.Length)
		if d := v.Duration; d != nil {
			pv.Duration = &pb.Validator_Durations{Min: int64(d.Min), Max: int64(d.Max)}
		}
		out = append(out, pv)
	}
	return out, nil
}

func boundsToProto(b *plugins.Bounds) *pb.Validator_Bounds {
	if b == nil {
		return nil
	}
	return &pb.Validator_Bounds{Min: b.Min, Max: b.Max}
}

// validatorsFromProto decodes validators; Schema.Validate checks them.
func validatorsFromProto(pvs []*pb.Validator) ([]*plugins.Validator, error) {
	var out []*plugins.Validator
	for _, pv := range pvs {
		if pv == nil {
			continue
		}
		v := &plugins.Validator{Pattern: pv.Pattern}
		for _, tv := range pv.OneOf {
			o, err := decodeTyped(tv)
			if err != nil {
				return nil, fmt.Errorf("one_of validator: %w", err)
			}
			v.OneOf = append(v.OneOf, o)
		}
		if pv.Url != nil {
			v.URL = &plugins.URLRule{Schemes: pv.Url.Schemes}
		}
		v.Range = boundsFromProto(pv.Range)
		v.Length = boundsFromProto(pv.Length)
		if d := pv.Duration; d != nil {
			v.Duration = &plugins.DurationBounds{Min: time.Duration(d.Min), Max: time.Duration(d.Max)}
		}
		out = append(out, v)
	}
	return out, nil
}

func boundsFromProto(b *pb.Validator_Bounds) *plugins.Bounds {
	if b == nil {
		return nil
	}
	return &plugins.Bounds{Min: b.Min, Max: b.Max}
}

// errorsToProto flattens err (errors.Join trees included) into wire errors,
// keeping the attribute path of each plugins.Error.
func errorsToProto(err error) []*pb.Error {
	if err == nil {
		return nil
	}
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		var out []*pb.Error
		for _, e := range joined.Unwrap() {
			out = append(out, errorsToProto(e)...)
		}
		if len(out) > 0 {
			return out
		}
	}
	var pe *plugins.Error
	if errors.As(err, &pe) {
		e := &pb.Error{Summary: pe.Summary, Detail: pe.Detail, Path: pathToProto(pe.Path), Config: pe.Config}
		if error(pe) != err {
			// Wrapped: keep the context the wrapping added.
			e.Summary, e.Detail = err.Error(), ""
		}
		return []*pb.Error{e}
	}
	return []*pb.Error{{Summary: err.Error()}}
}

// errorsFromProto turns wire errors back into plugins.Errors, joined when
// there are several; nil when there are none.
func errorsFromProto(pes []*pb.Error) error {
	errs := make([]error, 0, len(pes))
	for _, e := range pes {
		if e == nil {
			continue
		}
		errs = append(errs, &plugins.Error{Path: pathFromProto(e.Path), Summary: e.Summary, Detail: e.Detail, Config: e.Config})
	}
	switch len(errs) {
	case 0:
		return nil
	case 1:
		return errs[0]
	}
	return errors.Join(errs...)
}

func pathToProto(path cty.Path) *pb.AttributePath {
	if len(path) == 0 {
		return nil
	}
	out := &pb.AttributePath{}
	for _, step := range path {
		switch s := step.(type) {
		case cty.GetAttrStep:
			out.Steps = append(out.Steps, &pb.AttributePath_Step{Selector: &pb.AttributePath_Step_AttributeName{AttributeName: s.Name}})
		case cty.IndexStep:
			key, _ := s.Key.Unmark()
			switch {
			case key.IsNull() || !key.IsKnown():
				return out
			case key.Type() == cty.String:
				out.Steps = append(out.Steps, &pb.AttributePath_Step{Selector: &pb.AttributePath_Step_ElementKeyString{ElementKeyString: key.AsString()}})
			case key.Type() == cty.Number:
				i, acc := key.AsBigFloat().Int64()
				if acc != big.Exact {
					return out
				}
				out.Steps = append(out.Steps, &pb.AttributePath_Step{Selector: &pb.AttributePath_Step_ElementKeyInt{ElementKeyInt: i}})
			default:
				return out
			}
		default:
			return out
		}
	}
	return out
}

func pathFromProto(p *pb.AttributePath) cty.Path {
	if p == nil || len(p.Steps) == 0 {
		return nil
	}
	path := make(cty.Path, 0, len(p.Steps))
	for _, s := range p.Steps {
		switch sel := s.GetSelector().(type) {
		case *pb.AttributePath_Step_AttributeName:
			path = append(path, cty.GetAttrStep{Name: sel.AttributeName})
		case *pb.AttributePath_Step_ElementKeyString:
			path = append(path, cty.IndexStep{Key: cty.StringVal(sel.ElementKeyString)})
		case *pb.AttributePath_Step_ElementKeyInt:
			path = append(path, cty.IndexStep{Key: cty.NumberIntVal(sel.ElementKeyInt)})
		default:
			return path
		}
	}
	return path
}
