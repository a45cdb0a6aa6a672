package prompt

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"sync"
	"testing"
)

// fakeLangfuse is an in-memory Langfuse that answers the prompt endpoints
// of the public API as Langfuse documents and implements them:
//
//   - basic auth with the project's public and secret key, else 401;
//   - GET /api/public/v2/prompts lists prompts grouped by name, sorted by
//     name, filtered by name (exact), label and version, paginated with page
//     (from 1) and limit, meta.totalPages = ceil(totalItems / limit);
//   - GET /api/public/v2/prompts/{name} answers one version, by label or by
//     version (not both: 400), by the label "production" when neither is
//     given; 404 when there is none;
//   - POST /api/public/v2/prompts creates the next version, which gets
//     "latest" and the labels asked for, taken off the versions that had
//     them; a prompt keeps its type (400 otherwise);
//   - PATCH /api/public/v2/prompts/{name}/versions/{version} adds newLabels
//     to the version (its other labels stay) and takes them off every other
//     version; "latest" cannot be given (400);
//   - a protected label cannot be set by POST or PATCH: 403;
//   - labels are lower-case letters, digits, '_', '-' and '.', at most 36;
//     names are Langfuse's (folders separated by '/').
//
// A name is one path segment: a client must escape a '/' in it.
type fakeLangfuse struct {
	t      *testing.T
	public string
	secret string
	srv    *httptest.Server

	mu        sync.Mutex
	prompts   map[string][]*fakeVersion // index i holds version i+1
	protected map[string]bool
	// pageSize caps limit, as a server with a smaller maximum page would.
	pageSize int
	// ignoreNameFilter lists every prompt whatever the name filter, as
	// early releases of the endpoint did.
	ignoreNameFilter bool
	requests         []fakeRequest
	// fault, when set and returning a status, answers a request in place
	// of the model.
	fault func(r *http.Request) (status int, body string)
	// afterWrite, when set, runs after a successful POST or PATCH, under
	// the lock: a concurrent writer.
	afterWrite func(f *fakeLangfuse)
}

type fakeVersion struct {
	typ           string
	prompt        any // a string for a text prompt, messages for a chat prompt
	labels        []string
	commitMessage string
}

type fakeRequest struct {
	method string
	path   string // escaped, as sent
	query  url.Values
	body   map[string]any
}

var (
	fakeLabelRE = regexp.MustCompile(`^[a-z0-9_\-.]{1,36}$`)
	fakeNameRE  = regexp.MustCompile(`^[a-zA-Z0-9_\-.]+(/[a-zA-Z0-9_\-.]+)*$`)
)

// newFakeLangfuse starts a Langfuse holding:
//
//	support-agent  v1–v7  production 7, staging 7, canary 3
//	summarizer     v1–v3  production 3
//	support/router v1–v2  production 1
//	chatty         v1     production 1 (a chat prompt)
//	aaa-filler-1…4 v1     (more prompts to page through)
func newFakeLangfuse(t *testing.T) *fakeLangfuse {
	t.Helper()
	f := &fakeLangfuse{
		t:         t,
		public:    "pk-lf-test",
		secret:    "sk-lf-test",
		prompts:   map[string][]*fakeVersion{},
		protected: map[string]bool{},
		pageSize:  2,
	}
	for v := 1; v <= 7; v++ {
		f.seed("support-agent", fmt.Sprintf("You are Lumen's support assistant, v%d.", v))
	}
	f.label("support-agent", 7, "production", "staging")
	f.label("support-agent", 3, "canary")
	for v := 1; v <= 3; v++ {
		f.seed("summarizer", fmt.Sprintf("Summarize the ticket, v%d.", v))
	}
	f.label("summarizer", 3, "production")
	f.seed("support/router", "Route the ticket, v1.")
	f.seed("support/router", "Route the ticket, v2.")
	f.label("support/router", 1, "production")
	f.prompts["chatty"] = []*fakeVersion{{typ: "chat", prompt: []map[string]string{{"role": "system", "content": "Chat."}}}}
	f.label("chatty", 1, "production")
	for i := 1; i <= 4; i++ {
		f.seed(fmt.Sprintf("aaa-filler-%d", i), "filler")
	}
	for name := range f.prompts {
		f.relatest(name)
	}
	f.srv = httptest.NewServer(f)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeLangfuse) seed(name, text string) {
	f.prompts[name] = append(f.prompts[name], &fakeVersion{typ: "text", prompt: text})
}

// label puts labels on version v of name, taking them off the others.
func (f *fakeLangfuse) label(name string, v int, labels ...string) {
	for i, ver := range f.prompts[name] {
		if i+1 == v {
			for _, l := range labels {
				if !slices.Contains(ver.labels, l) {
					ver.labels = append(ver.labels, l)
				}
			}
			continue
		}
		ver.labels = slices.DeleteFunc(ver.labels, func(l string) bool { return slices.Contains(labels, l) })
	}
}

// relatest keeps "latest" on the newest version only.
func (f *fakeLangfuse) relatest(name string) {
	vs := f.prompts[name]
	for _, ver := range vs {
		ver.labels = slices.DeleteFunc(ver.labels, func(l string) bool { return l == langfuseLatest })
	}
	if len(vs) > 0 {
		vs[len(vs)-1].labels = append(vs[len(vs)-1].labels, langfuseLatest)
	}
}

// labels returns which version each label of name is on.
func (f *fakeLangfuse) labels(name string) map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]int{}
	for i, ver := range f.prompts[name] {
		for _, l := range ver.labels {
			out[l] = i + 1
		}
	}
	return out
}

// snapshot describes every version, for "nothing changed" checks.
func (f *fakeLangfuse) snapshot() map[string]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]string{}
	for name, vs := range f.prompts {
		for i, ver := range vs {
			labels := slices.Clone(ver.labels)
			slices.Sort(labels)
			text, _ := json.Marshal(ver.prompt)
			out[fmt.Sprintf("%s v%d", name, i+1)] = fmt.Sprintf("%s %v %s", ver.typ, labels, text)
		}
	}
	return out
}

// checkInvariants fails when a label is on two versions of a prompt or
// "latest" is not on exactly the newest.
func (f *fakeLangfuse) checkInvariants(t *testing.T) {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	for name, vs := range f.prompts {
		seen := map[string]int{}
		for i, ver := range vs {
			for _, l := range ver.labels {
				if prev, dup := seen[l]; dup {
					t.Errorf("%s: label %s on v%d and v%d", name, l, prev, i+1)
				}
				seen[l] = i + 1
			}
		}
		if seen[langfuseLatest] != len(vs) {
			t.Errorf("%s: latest on v%d, want v%d", name, seen[langfuseLatest], len(vs))
		}
	}
}

// writes returns the POST and PATCH requests received.
func (f *fakeLangfuse) writes() []fakeRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []fakeRequest
	for _, r := range f.requests {
		if r.method != http.MethodGet {
			out = append(out, r)
		}
	}
	return out
}

func (f *fakeLangfuse) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	data, _ := io.ReadAll(r.Body)
	rec := fakeRequest{method: r.Method, path: r.URL.EscapedPath(), query: r.URL.Query()}
	if len(data) > 0 {
		if err := json.Unmarshal(data, &rec.body); err != nil {
			fakeAnswer(w, http.StatusBadRequest, map[string]any{"message": "Invalid JSON body"})
			return
		}
	}
	f.mu.Lock()
	f.requests = append(f.requests, rec)
	fault := f.fault
	f.mu.Unlock()

	if user, pass, ok := r.BasicAuth(); !ok || user != f.public || pass != f.secret {
		fakeAnswer(w, http.StatusUnauthorized, map[string]any{"message": "Invalid credentials. Confirm that you've configured the correct host."})
		return
	}
	if fault != nil {
		if status, body := fault(r); status != 0 {
			w.WriteHeader(status)
			_, _ = io.WriteString(w, body)
			return
		}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/public/v2/prompts", f.list)
	mux.HandleFunc("POST /api/public/v2/prompts", func(w http.ResponseWriter, r *http.Request) { f.create(w, rec.body) })
	mux.HandleFunc("GET /api/public/v2/prompts/{name}", f.get)
	mux.HandleFunc("PATCH /api/public/v2/prompts/{name}/versions/{version}", func(w http.ResponseWriter, r *http.Request) {
		f.patch(w, r.PathValue("name"), r.PathValue("version"), rec.body)
	})
	mux.ServeHTTP(w, r)
}

func fakeAnswer(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

func fakeNotFound(w http.ResponseWriter, name string) {
	fakeAnswer(w, http.StatusNotFound, map[string]any{"error": "LangfuseNotFoundError", "message": "Prompt not found: '" + name + "'"})
}

func (f *fakeLangfuse) versionJSON(name string, v int) map[string]any {
	ver := f.prompts[name][v-1]
	var msg any
	if ver.commitMessage != "" {
		msg = ver.commitMessage
	}
	return map[string]any{
		"id": fmt.Sprintf("%s-%d", name, v), "name": name, "version": v, "type": ver.typ,
		"prompt": ver.prompt, "labels": slices.Clone(ver.labels), "tags": []string{},
		"config": map[string]any{}, "commitMessage": msg,
	}
}

func (f *fakeLangfuse) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	page, limit := 1, 50
	for key, dst := range map[string]*int{"page": &page, "limit": &limit} {
		if s := q.Get(key); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < 1 {
				fakeAnswer(w, http.StatusBadRequest, map[string]any{"message": "Invalid request data: " + key})
				return
			}
			*dst = n
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	limit = min(limit, f.pageSize)
	var data []map[string]any
	names := make([]string, 0, len(f.prompts))
	for name := range f.prompts {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if n := q.Get("name"); n != "" && n != name && !f.ignoreNameFilter {
			continue
		}
		versions, labels := []int{}, []string{}
		for i, ver := range f.prompts[name] {
			if l := q.Get("label"); l != "" && !slices.Contains(ver.labels, l) {
				continue
			}
			if v := q.Get("version"); v != "" && v != strconv.Itoa(i+1) {
				continue
			}
			versions = append(versions, i+1)
			for _, l := range ver.labels {
				if !slices.Contains(labels, l) {
					labels = append(labels, l)
				}
			}
		}
		if len(versions) == 0 {
			continue
		}
		data = append(data, map[string]any{
			"name": name, "type": f.prompts[name][len(f.prompts[name])-1].typ, "versions": versions, "labels": labels,
			"tags": []string{}, "lastUpdatedAt": "2025-06-01T12:00:00.000Z", "lastConfig": map[string]any{},
		})
	}
	total := len(data)
	from, to := min((page-1)*limit, total), min(page*limit, total)
	fakeAnswer(w, http.StatusOK, map[string]any{
		"data": append([]map[string]any{}, data[from:to]...),
		"meta": map[string]any{"page": page, "limit": limit, "totalItems": total, "totalPages": (total + limit - 1) / limit},
	})
}

func (f *fakeLangfuse) get(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	q := r.URL.Query()
	label, version := q.Get("label"), q.Get("version")
	if label != "" && version != "" {
		fakeAnswer(w, http.StatusBadRequest, map[string]any{"message": "Cannot specify both label and version"})
		return
	}
	if label == "" && version == "" {
		label = "production"
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, ver := range f.prompts[name] {
		if (version != "" && version == strconv.Itoa(i+1)) || (label != "" && slices.Contains(ver.labels, label)) {
			fakeAnswer(w, http.StatusOK, f.versionJSON(name, i+1))
			return
		}
	}
	fakeNotFound(w, name)
}

func (f *fakeLangfuse) create(w http.ResponseWriter, body map[string]any) {
	name, _ := body["name"].(string)
	typ, _ := body["type"].(string)
	if typ == "" {
		typ = "text"
	}
	if !fakeNameRE.MatchString(name) || name == "new" {
		fakeAnswer(w, http.StatusBadRequest, map[string]any{"message": "Invalid request data: name"})
		return
	}
	if _, isText := body["prompt"].(string); typ != "text" && typ != "chat" || typ == "text" && !isText {
		fakeAnswer(w, http.StatusBadRequest, map[string]any{"message": "Invalid request data: prompt"})
		return
	}
	labels, ok := fakeLabels(body["labels"], true)
	if !ok {
		fakeAnswer(w, http.StatusBadRequest, map[string]any{"message": "Invalid request data: labels"})
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, l := range labels {
		if f.protected[l] {
			fakeAnswer(w, http.StatusForbidden, map[string]any{"error": "ForbiddenError", "message": "You don't have permission to create a prompt with a protected label. Protected labels are: " + l})
			return
		}
	}
	vs := f.prompts[name]
	if len(vs) > 0 && vs[len(vs)-1].typ != typ {
		fakeAnswer(w, http.StatusBadRequest, map[string]any{"error": "InvalidRequestError", "message": "Previous versions have different prompt type. Create a new prompt with a different name."})
		return
	}
	msg, _ := body["commitMessage"].(string)
	f.prompts[name] = append(vs, &fakeVersion{typ: typ, prompt: body["prompt"], commitMessage: msg})
	v := len(f.prompts[name])
	f.label(name, v, labels...)
	f.relatest(name)
	if f.afterWrite != nil {
		f.afterWrite(f)
	}
	fakeAnswer(w, http.StatusCreated, f.versionJSON(name, v))
}

func (f *fakeLangfuse) patch(w http.ResponseWriter, name, version string, body map[string]any) {
	v, err := strconv.Atoi(version)
	if err != nil {
		fakeAnswer(w, http.StatusBadRequest, map[string]any{"message": "Invalid request data: version"})
		return
	}
	raw, ok := body["newLabels"].([]any)
	if !ok {
		fakeAnswer(w, http.StatusBadRequest, map[string]any{"message": "Invalid request data: newLabels"})
		return
	}
	for _, l := range raw {
		if l == langfuseLatest {
			fakeAnswer(w, http.StatusBadRequest, map[string]any{"message": "Label 'latest' is always assigned to the latest prompt version"})
			return
		}
	}
	newLabels, ok := fakeLabels(raw, false)
	if !ok {
		fakeAnswer(w, http.StatusBadRequest, map[string]any{"message": "Invalid request data: newLabels"})
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	vs := f.prompts[name]
	if v < 1 || v > len(vs) {
		fakeNotFound(w, name)
		return
	}
	for _, l := range newLabels {
		if f.protected[l] && !slices.Contains(vs[v-1].labels, l) {
			fakeAnswer(w, http.StatusForbidden, map[string]any{"error": "ForbiddenError", "message": "You don't have permission to modify a protected label. Please contact your project admin for assistance. Protected labels are: " + l})
			return
		}
	}
	f.label(name, v, newLabels...)
	if f.afterWrite != nil {
		f.afterWrite(f)
	}
	fakeAnswer(w, http.StatusOK, f.versionJSON(name, v))
}

// fakeLabels checks a JSON list of labels; "latest" passes only when
// allowLatest (POST ignores it: the new version gets it anyway).
func fakeLabels(raw any, allowLatest bool) ([]string, bool) {
	if raw == nil {
		return nil, true
	}
	list, ok := raw.([]any)
	if !ok {
		return nil, false
	}
	var out []string
	for _, x := range list {
		l, ok := x.(string)
		if !ok || !fakeLabelRE.MatchString(l) || (l == langfuseLatest && !allowLatest) {
			return nil, false
		}
		if l != langfuseLatest && !slices.Contains(out, l) {
			out = append(out, l)
		}
	}
	return out, true
}

// requestPaths lists the escaped paths of the requests received, with
// method.
func (f *fakeLangfuse) requestPaths() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, r := range f.requests {
		out = append(out, r.method+" "+r.path)
	}
	return out
}
