package fallback

import (
	"encoding/json"
	"reflect"
	"testing"
)

// FuzzFlagFile feeds the flag file reader anything. It must never panic,
// and for a file it accepts, switching any model route to any of its
// variants must give a file it accepts again, serving that variant, and
// equal to the old one in everything else. The seed corpus in
// testdata/fuzz/FuzzFlagFile holds flagd's positive and negative examples.
func FuzzFlagFile(f *testing.F) {
	f.Add([]byte(routesFile))
	f.Fuzz(func(t *testing.T, data []byte) {
		ff, err := parseFlagFile(data)
		if err != nil {
			return
		}
		var before any
		if err := json.Unmarshal(data, &before); err != nil {
			t.Fatalf("accepted a file that is not JSON: %v", err)
		}
		for _, name := range ff.routeNames() {
			r, err := ff.route(name)
			if err != nil {
				continue // not a model route
			}
			for _, v := range r.VariantNames {
				out, err := ff.withActive(name, v)
				if err != nil {
					t.Fatalf("switch %q to %q: %v", name, v, err)
				}
				changed, err := parseFlagFile(out)
				if err != nil {
					t.Fatalf("switching %q to %q gives a file flagd refuses: %v\n%s", name, v, err, out)
				}
				got, err := changed.route(name)
				if err != nil || got.Active != v {
					t.Fatalf("after switching %q to %q: %+v, %v", name, v, got, err)
				}
				var after any
				if err := json.Unmarshal(out, &after); err != nil {
					t.Fatal(err)
				}
				// Compare with the old file as it would be with the switch.
				flag := before.(map[string]any)["flags"].(map[string]any)[name].(map[string]any)
				old, had := flag["defaultVariant"]
				flag["defaultVariant"] = v
				if !reflect.DeepEqual(before, after) {
					t.Fatalf("switching %q to %q changed more than its defaultVariant:\n%s\n%s", name, v, data, out)
				}
				if had {
					flag["defaultVariant"] = old
				} else {
					delete(flag, "defaultVariant")
				}
			}
		}
	})
}
