package langfusetest

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
)

// Latest is the label Langfuse keeps on the newest version of a prompt.
const Latest = "latest"

// Server is a running Langfuse model.
type Server struct {
	// URL is the base URL, http://127.0.0.1:PORT.
	URL string
	// PublicKey and SecretKey are the project's keys, the user and
	// password of basic auth.
	PublicKey, SecretKey string

	srv *httptest.Server

	mu        sync.Mutex
	prompts   map[string][]*version // index i holds version i+1
	protected map[string]bool
	// pageSize caps limit, as a server with a smaller maximum page would.
	pageSize int
	// ignoreNameFilter lists every prompt whatever the name filter, as
	// early releases of the endpoint did.
	ignoreNameFilter bool
	requests         []Request
	fault            func(r *http.Request) (status int, body string)
	afterWrite       func(s *Server)
	createStatus     int
}

type version struct {
	typ           string
	prompt        any // a string for a text prompt, messages for a chat prompt
	labels        []string
	commitMessage string
}

// Request is a request the server received.
type Request struct {
	Method string
	Path   string // escaped, as sent
	Query  url.Values
	Body   map[string]any
	// TraceParent is the request's traceparent header, "" without one.
	TraceParent string
}

var (
	labelRE = regexp.MustCompile(`^[a-z0-9_\-.]{1,36}$`)
	nameRE  = regexp.MustCompile(`^[a-zA-Z0-9_\-.]+(/[a-zA-Z0-9_\-.]+)*$`)
)

// NewServer starts a Langfuse holding:
//
//	support-agent  v1–v7  production 7, staging 7, canary 3
//	summarizer     v1–v3  production 3
//	support/router v1–v2  production 1
//	chatty         v1     production 1 (a chat prompt)
//	aaa-filler-1…4 v1     (more prompts to page through)
//
// with keys pk-lf-test and sk-lf-test, and pages of at most 2 prompts.
// The caller closes it.
func NewServer() *Server {
	s := &Server{
		PublicKey:    "pk-lf-test",
		SecretKey:    "sk-lf-test",
		prompts:      map[string][]*version{},
		protected:    map[string]bool{},
		pageSize:     2,
		createStatus: http.StatusOK,
	}
	for v := 1; v <= 7; v++ {
		s.Seed("support-agent", fmt.Sprintf("You are Lumen's support assistant, v%d.", v))
	}
	s.Label("support-agent", 7, "production", "staging")
	s.Label("support-agent", 3, "canary")
	for v := 1; v <= 3; v++ {
		s.Seed("summarizer", fmt.Sprintf("Summarize the ticket, v%d.", v))
	}
	s.Label("summarizer", 3, "production")
	s.Seed("support/router", "Route the ticket, v1.")
	s.Seed("support/router", "Route the ticket, v2.")
	s.Label("support/router", 1, "production")
	s.Seed("chatty", []map[string]string{{"role": "system", "content": "Chat."}})
	s.Label("chatty", 1, "production")
	for i := 1; i <= 4; i++ {
		s.Seed(fmt.Sprintf("aaa-filler-%d", i), "filler")
	}
	s.srv = httptest.NewServer(s)
	s.URL = s.srv.URL
	return s
}

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

// Seed adds the next version of prompt name, holding prompt (a string for a
// text prompt, messages for a chat prompt), and moves "latest" to it. It
// returns the version.
func (s *Server) Seed(name string, prompt any) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	typ := "chat"
	if _, ok := prompt.(string); ok {
		typ = "text"
	}
	s.prompts[name] = append(s.prompts[name], &version{typ: typ, prompt: prompt})
	s.relatest(name)
	return len(s.prompts[name])
}

// Label puts labels on version v of name, taking them off the others; a
// version that does not exist takes them off every version.
func (s *Server) Label(name string, v int, labels ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.label(name, v, labels...)
}

// SetPrompt replaces what version v of name holds, as a store that mangled
// it would.
func (s *Server) SetPrompt(name string, v int, prompt any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if vs := s.prompts[name]; v >= 1 && v <= len(vs) {
		vs[v-1].prompt = prompt
	}
}

// Protect makes label a protected label: POST and PATCH may not set it.
func (s *Server) Protect(label string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.protected[label] = true
}

// SetPaging caps a page at size prompts and, with ignoreNameFilter, lists
// every prompt whatever the name filter, as early releases did.
func (s *Server) SetPaging(size int, ignoreNameFilter bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pageSize, s.ignoreNameFilter = size, ignoreNameFilter
}

// SetFault makes fault answer each authenticated request in place of the
// model when it returns a status other than 0; nil removes it.
func (s *Server) SetFault(fault func(r *http.Request) (status int, body string)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fault = fault
}

// SetCreateStatus makes POST answer status when it creates a version: 200
// by default, as Langfuse's API description says; Langfuse's server answers
// 201.
func (s *Server) SetCreateStatus(status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.createStatus = status
}

// OffSpec reports whether the server answers off Langfuse's API
// description on purpose: a fault is set, or another create status.
func (s *Server) OffSpec() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fault != nil || s.createStatus != http.StatusOK
}

// SetAfterWrite makes fn run after each successful POST or PATCH, before
// the answer is made: a concurrent writer.
func (s *Server) SetAfterWrite(fn func(s *Server)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.afterWrite = fn
}

// label is Label with s.mu held.
func (s *Server) label(name string, v int, labels ...string) {
	for i, ver := range s.prompts[name] {
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
func (s *Server) relatest(name string) {
	vs := s.prompts[name]
	for _, ver := range vs {
		ver.labels = slices.DeleteFunc(ver.labels, func(l string) bool { return l == Latest })
	}
	if len(vs) > 0 {
		vs[len(vs)-1].labels = append(vs[len(vs)-1].labels, Latest)
	}
}

// Labels returns which version each label of name is on.
func (s *Server) Labels(name string) map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]int{}
	for i, ver := range s.prompts[name] {
		for _, l := range ver.labels {
			out[l] = i + 1
		}
	}
	return out
}

// Snapshot describes every version, "NAME vN" → type, labels and prompt,
// for "nothing changed" checks.
func (s *Server) Snapshot() map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]string{}
	for name, vs := range s.prompts {
		for i, ver := range vs {
			labels := slices.Clone(ver.labels)
			slices.Sort(labels)
			text, _ := json.Marshal(ver.prompt)
			out[fmt.Sprintf("%s v%d", name, i+1)] = fmt.Sprintf("%s %v %s", ver.typ, labels, text)
		}
	}
	return out
}

// Invariants describes each broken rule of Langfuse's: a label on two
// versions of a prompt, or "latest" not on exactly the newest.
func (s *Server) Invariants() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	names := make([]string, 0, len(s.prompts))
	for name := range s.prompts {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		vs := s.prompts[name]
		seen := map[string]int{}
		for i, ver := range vs {
			for _, l := range ver.labels {
				if prev, dup := seen[l]; dup {
					out = append(out, fmt.Sprintf("%s: label %s on v%d and v%d", name, l, prev, i+1))
				}
				seen[l] = i + 1
			}
		}
		if seen[Latest] != len(vs) {
			out = append(out, fmt.Sprintf("%s: latest on v%d, want v%d", name, seen[Latest], len(vs)))
		}
	}
	return out
}

// Requests returns the requests received, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// Writes returns the POST and PATCH requests received.
func (s *Server) Writes() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Request
	for _, r := range s.requests {
		if r.Method != http.MethodGet {
			out = append(out, r)
		}
	}
	return out
}

// RequestPaths lists the escaped paths of the requests received, with
// method.
func (s *Server) RequestPaths() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, r := range s.requests {
		out = append(out, r.Method+" "+r.Path)
	}
	return out
}

// ServeHTTP answers a request as Langfuse would.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	data, _ := io.ReadAll(r.Body)
	rec := Request{Method: r.Method, Path: r.URL.EscapedPath(), Query: r.URL.Query(), TraceParent: r.Header.Get("traceparent")}
	if len(data) > 0 {
		if err := json.Unmarshal(data, &rec.Body); err != nil {
			answer(w, http.StatusBadRequest, map[string]any{"message": "Invalid JSON body"})
			return
		}
	}
	s.mu.Lock()
	s.requests = append(s.requests, rec)
	fault := s.fault
	s.mu.Unlock()

	if user, pass, ok := r.BasicAuth(); !ok || user != s.PublicKey || pass != s.SecretKey {
		answer(w, http.StatusUnauthorized, map[string]any{"message": "Invalid credentials. Confirm that you've configured the correct host."})
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
	mux.HandleFunc("GET /api/public/v2/prompts", s.list)
	mux.HandleFunc("POST /api/public/v2/prompts", func(w http.ResponseWriter, r *http.Request) { s.create(w, rec.Body) })
	mux.HandleFunc("GET /api/public/v2/prompts/{name}", s.get)
	mux.HandleFunc("PATCH /api/public/v2/prompts/{name}/versions/{version}", func(w http.ResponseWriter, r *http.Request) {
		s.patch(w, r.PathValue("name"), r.PathValue("version"), rec.Body)
	})
	mux.ServeHTTP(w, r)
}

func answer(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

func notFound(w http.ResponseWriter, name string) {
	answer(w, http.StatusNotFound, map[string]any{"error": "LangfuseNotFoundError", "message": "Prompt not found: '" + name + "'"})
}

// versionJSON is version v of name as the API shows it, with s.mu held.
func (s *Server) versionJSON(name string, v int) map[string]any {
	ver := s.prompts[name][v-1]
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

// written runs the afterWrite hook, without s.mu held, and answers with
// version v of name as it is then.
func (s *Server) written(w http.ResponseWriter, status int, name string, v int) {
	s.mu.Lock()
	after := s.afterWrite
	s.mu.Unlock()
	if after != nil {
		after(s)
	}
	s.mu.Lock()
	body := s.versionJSON(name, v)
	s.mu.Unlock()
	answer(w, status, body)
}

func (s *Server) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	page, limit := 1, 50
	for key, dst := range map[string]*int{"page": &page, "limit": &limit} {
		if v := q.Get(key); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				answer(w, http.StatusBadRequest, map[string]any{"message": "Invalid request data: " + key})
				return
			}
			*dst = n
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	limit = min(limit, s.pageSize)
	var data []map[string]any
	names := make([]string, 0, len(s.prompts))
	for name := range s.prompts {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if n := q.Get("name"); n != "" && n != name && !s.ignoreNameFilter {
			continue
		}
		versions, labels := []int{}, []string{}
		for i, ver := range s.prompts[name] {
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
			"name": name, "type": s.prompts[name][len(s.prompts[name])-1].typ, "versions": versions, "labels": labels,
			"tags": []string{}, "lastUpdatedAt": "2025-06-01T12:00:00.000Z", "lastConfig": map[string]any{},
		})
	}
	total := len(data)
	from, to := min((page-1)*limit, total), min(page*limit, total)
	answer(w, http.StatusOK, map[string]any{
		"data": append([]map[string]any{}, data[from:to]...),
		"meta": map[string]any{"page": page, "limit": limit, "totalItems": total, "totalPages": (total + limit - 1) / limit},
	})
}

func (s *Server) get(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	q := r.URL.Query()
	label, version := q.Get("label"), q.Get("version")
	if label != "" && version != "" {
		answer(w, http.StatusBadRequest, map[string]any{"message": "Cannot specify both label and version"})
		return
	}
	if label == "" && version == "" {
		label = "production"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, ver := range s.prompts[name] {
		if (version != "" && version == strconv.Itoa(i+1)) || (label != "" && slices.Contains(ver.labels, label)) {
			answer(w, http.StatusOK, s.versionJSON(name, i+1))
			return
		}
	}
	notFound(w, name)
}

func (s *Server) create(w http.ResponseWriter, body map[string]any) {
	name, _ := body["name"].(string)
	typ, _ := body["type"].(string)
	if typ == "" {
		typ = "text"
	}
	if !nameRE.MatchString(name) || name == "new" {
		answer(w, http.StatusBadRequest, map[string]any{"message": "Invalid request data: name"})
		return
	}
	if _, isText := body["prompt"].(string); typ != "text" && typ != "chat" || typ == "text" && !isText {
		answer(w, http.StatusBadRequest, map[string]any{"message": "Invalid request data: prompt"})
		return
	}
	labels, ok := checkLabels(body["labels"], true)
	if !ok {
		answer(w, http.StatusBadRequest, map[string]any{"message": "Invalid request data: labels"})
		return
	}
	s.mu.Lock()
	for _, l := range labels {
		if s.protected[l] {
			s.mu.Unlock()
			answer(w, http.StatusForbidden, map[string]any{"error": "ForbiddenError", "message": "You don't have permission to create a prompt with a protected label. Protected labels are: " + l})
			return
		}
	}
	vs := s.prompts[name]
	if len(vs) > 0 && vs[len(vs)-1].typ != typ {
		s.mu.Unlock()
		answer(w, http.StatusBadRequest, map[string]any{"error": "InvalidRequestError", "message": "Previous versions have different prompt type. Create a new prompt with a different name."})
		return
	}
	msg, _ := body["commitMessage"].(string)
	s.prompts[name] = append(vs, &version{typ: typ, prompt: body["prompt"], commitMessage: msg})
	v := len(s.prompts[name])
	s.label(name, v, labels...)
	s.relatest(name)
	status := s.createStatus
	s.mu.Unlock()
	s.written(w, status, name, v)
}

func (s *Server) patch(w http.ResponseWriter, name, ver string, body map[string]any) {
	v, err := strconv.Atoi(ver)
	if err != nil {
		answer(w, http.StatusBadRequest, map[string]any{"message": "Invalid request data: version"})
		return
	}
	raw, ok := body["newLabels"].([]any)
	if !ok {
		answer(w, http.StatusBadRequest, map[string]any{"message": "Invalid request data: newLabels"})
		return
	}
	for _, l := range raw {
		if l == Latest {
			answer(w, http.StatusBadRequest, map[string]any{"message": "Label 'latest' is always assigned to the latest prompt version"})
			return
		}
	}
	newLabels, ok := checkLabels(raw, false)
	if !ok {
		answer(w, http.StatusBadRequest, map[string]any{"message": "Invalid request data: newLabels"})
		return
	}
	s.mu.Lock()
	vs := s.prompts[name]
	if v < 1 || v > len(vs) {
		s.mu.Unlock()
		notFound(w, name)
		return
	}
	for _, l := range newLabels {
		if s.protected[l] && !slices.Contains(vs[v-1].labels, l) {
			s.mu.Unlock()
			answer(w, http.StatusForbidden, map[string]any{"error": "ForbiddenError", "message": "You don't have permission to modify a protected label. Please contact your project admin for assistance. Protected labels are: " + l})
			return
		}
	}
	s.label(name, v, newLabels...)
	s.mu.Unlock()
	s.written(w, http.StatusOK, name, v)
}

// checkLabels checks a JSON list of labels; "latest" passes only when
// allowLatest (POST ignores it: the new version gets it anyway).
func checkLabels(raw any, allowLatest bool) ([]string, bool) {
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
		if !ok || !labelRE.MatchString(l) || (l == Latest && !allowLatest) {
			return nil, false
		}
		if l != Latest && !slices.Contains(out, l) {
			out = append(out, l)
		}
	}
	return out, true
}
