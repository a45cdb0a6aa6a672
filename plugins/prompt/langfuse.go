package prompt

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/runbookdev/runbook/plugins"
	"github.com/runbookdev/runbook/plugins/traceprop"
)

// The Langfuse public API the backend speaks (prompts, v2):
//
//	GET   /api/public/v2/prompts?name=N&page=P&limit=L   versions and labels of N
//	GET   /api/public/v2/prompts/{name}?label=L|version=V one version: text, labels
//	POST  /api/public/v2/prompts                           create a version
//	PATCH /api/public/v2/prompts/{name}/versions/{version} add labels to a version
//
// Labels are unique across the versions of a prompt: labelling one version
// takes the label off the version that held it. "latest" is reserved: it is
// always on the newest version and cannot be set or moved.
const (
	langfusePromptsPath = "/api/public/v2/prompts"
	langfuseLatest      = "latest"
	// langfuseListLimit is the page size asked of the list endpoint, its
	// documented maximum; the server may answer with smaller pages.
	langfuseListLimit = 100
	// langfuseMaxPages bounds a listing against a server that never ends it.
	langfuseMaxPages = 10_000
	// langfuseMaxBody bounds what is read of one answer (a version's text
	// is in it).
	langfuseMaxBody        = 16 << 20
	defaultLangfuseTimeout = 30 * time.Second
)

// langfuseBackend keeps prompts in a Langfuse project. Versions are
// Langfuse's own immutable versions; a label is a Langfuse label. Langfuse
// keeps the history of every change; each change is also reported as a
// progress line. Langfuse offers no compare-and-set on labels: a move reads,
// picks, labels, then reads back and fails when the label does not point
// where it was moved, so a concurrent change is reported, never hidden.
type langfuseBackend struct {
	base      string // the base URL, without a trailing slash; named in messages
	public    string
	secret    string
	timeout   time.Duration
	listLimit int
	transport *http.Transport
	client    *http.Client
}

// newLangfuseBackend reads the langfuse backend's configuration.
func newLangfuseBackend(config cty.Value) (*langfuseBackend, error) {
	raw, _, err := stringArg(config, "url", "")
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(raw) == "" {
		return nil, &plugins.Error{
			Path:    cty.GetAttrPath("url"),
			Summary: "Missing Langfuse URL",
			Detail:  `The langfuse backend needs url = "https://cloud.langfuse.com" (or your own Langfuse's base URL) in the plugin "prompt" block.`,
		}
	}
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return nil, &plugins.Error{Path: cty.GetAttrPath("url"), Summary: "Invalid Langfuse URL", Detail: err.Error()}
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, &plugins.Error{Path: cty.GetAttrPath("url"), Summary: "Invalid Langfuse URL", Detail: fmt.Sprintf("%q: want http(s)://HOST[:PORT][/PATH], the address Langfuse is served at.", u.Redacted())}
	}
	if u.User != nil {
		return nil, &plugins.Error{Path: cty.GetAttrPath("url"), Summary: "Credentials in the Langfuse URL", Detail: "Set public_key and secret_key instead of putting credentials in url."}
	}
	public, err := requiredKey(config, "public_key", "the project's public key (pk-lf-…)")
	if err != nil {
		return nil, err
	}
	secret, err := requiredKey(config, "secret_key", `the project's secret key (sk-lf-…), for example secret_key = env("LANGFUSE_SECRET_KEY")`)
	if err != nil {
		return nil, err
	}
	timeout := defaultLangfuseTimeout
	if t, _, err := stringArg(config, "timeout", ""); err != nil {
		return nil, err
	} else if t != "" {
		d, err := time.ParseDuration(t)
		if err != nil || d <= 0 {
			return nil, &plugins.Error{Path: cty.GetAttrPath("timeout"), Summary: "Invalid timeout", Detail: fmt.Sprintf("%q is not a positive duration such as \"30s\".", t)}
		}
		timeout = d
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	base := strings.TrimRight(u.String(), "/")
	return &langfuseBackend{
		base:      base,
		public:    public,
		secret:    secret,
		timeout:   timeout,
		listLimit: langfuseListLimit,
		transport: transport,
		// A request made under the action's span is a client span of
		// its own and carries its trace context, so that Langfuse's
		// traces of the API call join the run's.
		client: &http.Client{Transport: traceprop.Transport(transport)},
	}, nil
}

func requiredKey(config cty.Value, name, what string) (string, error) {
	v, _, err := stringArg(config, name, "")
	if err != nil {
		return "", err
	}
	if strings.TrimSpace(v) == "" {
		return "", &plugins.Error{
			Path:    cty.GetAttrPath(name),
			Summary: "Missing " + name,
			Detail:  fmt.Sprintf("The langfuse backend needs %s = …: %s.", name, what),
		}
	}
	return v, nil
}

func (b *langfuseBackend) close() { b.transport.CloseIdleConnections() }

// checkPromptName accepts Langfuse's prompt names: letters, digits, '_',
// '-' and '.', in folders separated by '/' (no empty folder, no "." or
// ".."), at most 255 characters.
func (b *langfuseBackend) checkPromptName(name string) error {
	ok := name != "" && len(name) <= 255
	for seg := range strings.SplitSeq(name, "/") {
		if !ok {
			break
		}
		ok = seg != "" && seg != "." && seg != ".."
		for i := 0; ok && i < len(seg); i++ {
			c := seg[i]
			ok = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.'
		}
	}
	if !ok {
		return &plugins.Error{
			Path:    cty.GetAttrPath("name"),
			Summary: "Invalid prompt name",
			Detail:  fmt.Sprintf("%q: a Langfuse prompt name is letters, digits, '_', '-' and '.', in folders separated by '/' (as in \"support/agent\"), at most 255 characters.", name),
		}
	}
	return nil
}

// checkSettableLabel refuses "latest", which Langfuse manages, and labels
// Langfuse would refuse: lower-case letters, digits, '_', '-' and '.', at
// most 36.
func (b *langfuseBackend) checkSettableLabel(label string) error {
	if label == langfuseLatest {
		return errLatest()
	}
	ok := len(label) <= 36
	for i := 0; ok && i < len(label); i++ {
		c := label[i]
		ok = c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.'
	}
	if !ok {
		return &plugins.Error{
			Path:    cty.GetAttrPath("label"),
			Summary: "Invalid Langfuse label",
			Detail:  fmt.Sprintf("%q: Langfuse labels are 1 to 36 lower-case letters, digits, '_', '-' or '.'.", label),
		}
	}
	return nil
}

func errLatest() error {
	return &plugins.Error{
		Path:    cty.GetAttrPath("label"),
		Summary: "Reserved label",
		Detail:  `"latest" is managed by Langfuse: it always points at the newest version and cannot be set or moved. Use another label, such as "production".`,
	}
}

// langfuseVersion is one version as GET /api/public/v2/prompts/{name}
// answers it, and as POST and PATCH return it.
type langfuseVersion struct {
	Name    string          `json:"name"`
	Version int             `json:"version"`
	Type    string          `json:"type"`
	Prompt  json.RawMessage `json:"prompt"` // a string for a text prompt, messages for a chat prompt
	Labels  []string        `json:"labels"`
	// CommitMessage is null or absent when the version has none.
	CommitMessage *string `json:"commitMessage"`
}

// langfusePromptMeta is one prompt in the list: all its versions and the
// labels on any of them.
type langfusePromptMeta struct {
	Name     string   `json:"name"`
	Versions []int    `json:"versions"`
	Labels   []string `json:"labels"`
}

type langfusePage struct {
	Page       int `json:"page"`
	Limit      int `json:"limit"`
	TotalItems int `json:"totalItems"`
	TotalPages int `json:"totalPages"`
}

type langfuseList struct {
	Data []langfusePromptMeta `json:"data"`
	Meta *langfusePage        `json:"meta"`
	// Pagination is where early releases of the endpoint put meta.
	Pagination *langfusePage `json:"pagination"`
}

func (l *langfuseList) totalPages() int {
	switch {
	case l.Meta != nil:
		return l.Meta.TotalPages
	case l.Pagination != nil:
		return l.Pagination.TotalPages
	}
	return 1
}

// Read lists the prompt's versions and the labels on them, then asks which
// version each label is on.
func (b *langfuseBackend) Read(ctx context.Context, name string) (*Prompt, error) {
	meta, err := b.find(ctx, name)
	if err != nil {
		return nil, err
	}
	if meta == nil {
		return nil, b.unknown(name)
	}
	p := &Prompt{Name: name, Labels: map[string]int{}, LabelsSource: "Langfuse at " + b.base}
	for _, v := range meta.Versions {
		if v < 1 || v > maxVersion {
			return nil, fmt.Errorf("prompt %q: Langfuse at %s lists version %d, which is not a version number runbook can manage", name, b.base, v)
		}
		p.Versions = append(p.Versions, v)
	}
	labels := slices.Clone(meta.Labels)
	slices.Sort(labels)
	for _, label := range slices.Compact(labels) {
		v, err := b.get(ctx, name, url.Values{"label": {label}})
		if isStatus(err, http.StatusNotFound) {
			continue // taken off every version since the listing
		}
		if err != nil {
			return nil, b.explain(err, fmt.Sprintf("read label %s of prompt %q", label, name))
		}
		if v.Version < 1 || v.Version > maxVersion {
			return nil, fmt.Errorf("prompt %q: Langfuse at %s puts %s on version %d, which is not a version number runbook can manage", name, b.base, label, v.Version)
		}
		p.Labels[label] = v.Version
		// A version published since the listing exists all the same.
		p.Versions = append(p.Versions, v.Version)
	}
	slices.Sort(p.Versions)
	p.Versions = slices.Compact(p.Versions)
	return p, nil
}

// find returns the list entry of the prompt named name, or nil. It follows
// every page: early Langfuse releases ignored the name filter and listed
// every prompt, so only an entry whose name matches exactly counts.
func (b *langfuseBackend) find(ctx context.Context, name string) (*langfusePromptMeta, error) {
	for page := 1; ; page++ {
		q := url.Values{"name": {name}, "page": {strconv.Itoa(page)}, "limit": {strconv.Itoa(b.listLimit)}}
		var list langfuseList
		err := b.call(ctx, http.MethodGet, langfusePromptsPath, q, nil, &list)
		if isStatus(err, http.StatusNotFound) {
			return nil, fmt.Errorf("no prompts API in Langfuse at %s (%s answered 404): is url the base URL of Langfuse, such as https://cloud.langfuse.com?: %w", b.base, langfusePromptsPath, err)
		}
		if err != nil {
			return nil, b.explain(err, fmt.Sprintf("list the versions of prompt %q", name))
		}
		for i := range list.Data {
			if list.Data[i].Name == name {
				return &list.Data[i], nil
			}
		}
		if len(list.Data) == 0 || page >= list.totalPages() {
			return nil, nil
		}
		if page >= langfuseMaxPages {
			return nil, fmt.Errorf("stopped looking for prompt %q after %d pages of prompts from Langfuse at %s", name, langfuseMaxPages, b.base)
		}
	}
}

// get fetches one version of a prompt, by label or by version.
func (b *langfuseBackend) get(ctx context.Context, name string, q url.Values) (*langfuseVersion, error) {
	var v langfuseVersion
	if err := b.call(ctx, http.MethodGet, promptPath(name), q, nil, &v); err != nil {
		return nil, err
	}
	return &v, nil
}

// promptPath is the path of a prompt: its name is one path segment, a '/'
// in it escaped.
func promptPath(name string) string {
	return langfusePromptsPath + "/" + url.PathEscape(name)
}

func (b *langfuseBackend) Publish(ctx context.Context, name, text, label string, c Change) (Published, error) {
	if label == langfuseLatest {
		return Published{}, errLatest()
	}
	var res Published
	p, err := b.Read(ctx, name)
	switch {
	case errors.Is(err, ErrUnknownPrompt):
		p = &Prompt{Name: name, Labels: map[string]int{}}
	case err != nil:
		return Published{}, err
	case label != "":
		res.Previous = p.Labels[label]
	}
	if c.Check != nil {
		// Langfuse has no compare-and-set: a change made between this
		// read and the publish is not seen.
		if err := c.Check(p); err != nil {
			return Published{}, err
		}
	}
	body := map[string]any{"name": name, "prompt": text, "type": "text", "labels": []string{}}
	if label != "" {
		body["labels"] = []string{label}
	}
	if msg := commitMessage(c); msg != "" {
		body["commitMessage"] = msg
	}
	var created langfuseVersion
	err = b.call(ctx, http.MethodPost, langfusePromptsPath, nil, body, &created)
	if isStatus(err, http.StatusForbidden) && label != "" {
		return Published{}, protected(name, label, err)
	}
	if err != nil {
		return Published{}, b.explain(err, fmt.Sprintf("publish a new version of prompt %q", name))
	}
	if created.Version < 1 || created.Version > maxVersion {
		return Published{}, fmt.Errorf("published a new version of %s, but Langfuse at %s numbered it %d", name, b.base, created.Version)
	}
	res.Version = created.Version

	if err := b.readBack(ctx, name, text, label, res.Version); err != nil {
		return res, err
	}
	line := fmt.Sprintf("Langfuse: %s v%d published", name, res.Version)
	if label != "" {
		line += fmt.Sprintf(", %s %s → v%d", label, versionText(res.Previous), res.Version)
	}
	progress(c, line)
	return res, nil
}

// readBack checks what Publish made: version holds text, and label, when
// set, is on it.
func (b *langfuseBackend) readBack(ctx context.Context, name, text, label string, version int) error {
	got, err := b.get(ctx, name, url.Values{"version": {strconv.Itoa(version)}})
	if err != nil {
		return b.explain(err, fmt.Sprintf("read back v%d of prompt %q after publishing it", version, name))
	}
	var gotText string
	if got.Type != "text" || json.Unmarshal(got.Prompt, &gotText) != nil || gotText != text {
		return fmt.Errorf("published %s v%d, but Langfuse at %s serves v%d with other text (type %q): check the prompt in Langfuse", name, version, b.base, version, got.Type)
	}
	if label != "" {
		return b.verifyLabel(ctx, name, label, version, nil)
	}
	return nil
}

func (b *langfuseBackend) MoveLabel(ctx context.Context, name, label string, pick func(*Prompt) (int, error), c Change) (Move, error) {
	if label == langfuseLatest {
		return Move{}, errLatest()
	}
	p, err := b.Read(ctx, name)
	if err != nil {
		return Move{}, err
	}
	m, err := chooseMove(p, name, label, pick)
	if err != nil || m.From == m.To {
		return m, err
	}
	from, to := m.From, m.To
	target, err := b.get(ctx, name, url.Values{"version": {strconv.Itoa(to)}})
	if isStatus(err, http.StatusNotFound) {
		return Move{}, fmt.Errorf("%w %q: Langfuse at %s has no version %d of it (any more)", ErrUnknownPrompt, name, b.base, to)
	}
	if err != nil {
		return Move{}, b.explain(err, fmt.Sprintf("read v%d of prompt %q", to, name))
	}

	// The version's full new label list: the labels it has, and label.
	// Langfuse takes label off the version that holds it; "latest" is
	// Langfuse's to set.
	kept := slices.DeleteFunc(slices.Clone(target.Labels), func(l string) bool { return l == langfuseLatest || l == label })
	slices.Sort(kept)
	kept = slices.Compact(kept)
	newLabels := append(slices.Clone(kept), label)
	path := promptPath(name) + "/versions/" + strconv.Itoa(to)
	err = b.call(ctx, http.MethodPatch, path, nil, map[string]any{"newLabels": newLabels}, nil)
	switch {
	case isStatus(err, http.StatusForbidden):
		return Move{}, protected(name, label, err)
	case isStatus(err, http.StatusNotFound):
		return Move{}, fmt.Errorf("%w %q: Langfuse at %s has no version %d of it (any more): %w", ErrUnknownPrompt, name, b.base, to, err)
	case err != nil:
		return Move{}, b.explain(err, fmt.Sprintf("move %s of prompt %q to v%d", label, name, to))
	}
	if err := b.verifyLabel(ctx, name, label, to, kept); err != nil {
		return Move{From: from, To: to}, err
	}
	progress(c, fmt.Sprintf("Langfuse: %s %s %s → v%d", name, label, versionText(from), to))
	return Move{From: from, To: to}, nil
}

// verifyLabel reads back which version label is on: it must be want, which
// must still carry the labels in kept.
func (b *langfuseBackend) verifyLabel(ctx context.Context, name, label string, want int, kept []string) error {
	got, err := b.get(ctx, name, url.Values{"label": {label}})
	if isStatus(err, http.StatusNotFound) {
		return fmt.Errorf("pointed %s of %s at v%d, but reading it back Langfuse at %s has %s on no version: another change may have raced this one; check the prompt in Langfuse", label, name, want, b.base, label)
	}
	if err != nil {
		return b.explain(err, fmt.Sprintf("read back %s of prompt %q after pointing it at v%d", label, name, want))
	}
	if got.Version != want {
		return fmt.Errorf("pointed %s of %s at v%d, but reading it back Langfuse at %s has it on v%d: another change may have raced this one; check the prompt in Langfuse", label, name, want, b.base, got.Version)
	}
	var lost []string
	for _, l := range kept {
		if !slices.Contains(got.Labels, l) {
			lost = append(lost, l)
		}
	}
	if len(lost) > 0 {
		return fmt.Errorf("pointed %s of %s at v%d, but reading it back v%d has lost its labels %s: restore them in Langfuse", label, name, want, want, strings.Join(lost, ", "))
	}
	return nil
}

// protected words a 403 on labelling: Langfuse protects some labels so that
// only project admins may set or move them.
func protected(name, label string, err error) error {
	var ae *langfuseAPIError
	detail := ""
	if errors.As(err, &ae) && ae.excerpt != "" {
		detail = " (Langfuse: " + ae.excerpt + ")"
	}
	return &plugins.Error{
		Path:    cty.GetAttrPath("label"),
		Summary: "Protected label",
		Detail:  fmt.Sprintf("label %s of %s is protected in Langfuse; ask a project admin or use a different label%s", label, name, detail),
	}
}

func (b *langfuseBackend) unknown(name string) error {
	return fmt.Errorf("%w %q: Langfuse at %s has no prompt of that name (is the API key's project the right one?)", ErrUnknownPrompt, name, b.base)
}

// explain words an error of a request made to do what.
func (b *langfuseBackend) explain(err error, what string) error {
	var ae *langfuseAPIError
	if errors.As(err, &ae) {
		switch ae.status {
		case http.StatusUnauthorized:
			return fmt.Errorf("could not %s: Langfuse refused the credentials (check public_key and secret_key in the plugin \"prompt\" block): %w", what, err)
		case http.StatusForbidden:
			return fmt.Errorf("could not %s: the API key has no permission for it: %w", what, err)
		}
	}
	return fmt.Errorf("could not %s: %w", what, err)
}

// langfuseAPIError is an answer other than 2xx.
type langfuseAPIError struct {
	server  string
	method  string
	path    string
	status  int
	excerpt string // of the body, one line
}

func (e *langfuseAPIError) Error() string {
	s := fmt.Sprintf("Langfuse at %s answered %d %s to %s %s", e.server, e.status, http.StatusText(e.status), e.method, e.path)
	if e.excerpt != "" {
		s += ": " + e.excerpt
	}
	return s
}

func isStatus(err error, status int) bool {
	var ae *langfuseAPIError
	return errors.As(err, &ae) && ae.status == status
}

// errLangfuseTimeout marks the plugin's own timeout, told apart from the
// step's.
var errLangfuseTimeout = errors.New("timed out")

// call makes one request to the API: path is escaped already; body, when
// not nil, is sent as JSON; a 2xx answer is decoded into out when it is not
// nil. Any other answer is a *langfuseAPIError.
func (b *langfuseBackend) call(ctx context.Context, method, path string, q url.Values, body, out any) error {
	ctx, cancel := context.WithTimeoutCause(ctx, b.timeout, errLangfuseTimeout)
	defer cancel()
	target := b.base + path
	if len(q) > 0 {
		target += "?" + q.Encode()
	}
	var reader io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("encode the request to %s %s: %w", method, path, err)
		}
		reader = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, reader)
	if err != nil {
		return fmt.Errorf("build the request %s %s: %w", method, path, err)
	}
	req.SetBasicAuth(b.public, b.secret)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "runbook")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := b.client.Do(req)
	if err != nil {
		if errors.Is(context.Cause(ctx), errLangfuseTimeout) {
			return fmt.Errorf("no answer from Langfuse at %s to %s %s within %s (the plugin's timeout): %w", b.base, method, path, b.timeout, context.DeadlineExceeded)
		}
		return fmt.Errorf("request to Langfuse at %s: %s %s: %w", b.base, method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, langfuseMaxBody+1))
	if err != nil {
		return fmt.Errorf("read the answer of Langfuse at %s to %s %s: %w", b.base, method, path, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return &langfuseAPIError{server: b.base, method: method, path: path, status: resp.StatusCode, excerpt: excerpt(data)}
	}
	if len(data) > langfuseMaxBody {
		return fmt.Errorf("the answer of Langfuse at %s to %s %s is larger than %d MiB", b.base, method, path, langfuseMaxBody>>20)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("the answer of Langfuse at %s to %s %s is not the API's JSON (is url the base URL of Langfuse?): %w; it begins %q", b.base, method, path, err, excerpt(data))
	}
	return nil
}

// excerpt is a short, single-line excerpt of an answer's body: its
// "message" when it is Langfuse's JSON error, else its beginning.
func excerpt(body []byte) string {
	var e struct {
		Message string `json:"message"`
	}
	text := string(body)
	if json.Unmarshal(body, &e) == nil && e.Message != "" {
		text = e.Message
	}
	text = strings.Join(strings.Fields(text), " ")
	const limit = 200
	if r := []rune(text); len(r) > limit {
		text = string(r[:limit]) + "…"
	}
	return text
}

// commitMessage records in Langfuse which run published a version.
func commitMessage(c Change) string {
	if w := who(c); w != "" {
		return "runbook " + c.Action + " (" + w + ")"
	}
	return ""
}

// progress reports a change; Langfuse keeps its history, the run's
// transcript gets the line.
func progress(c Change, line string) {
	if c.Progress == nil {
		return
	}
	if w := who(c); w != "" {
		line += " (" + w + ")"
	}
	c.Progress(line)
}

// who names the run and the operator of a change.
func who(c Change) string {
	var parts []string
	if c.RunID != "" {
		parts = append(parts, "run "+c.RunID)
	}
	if c.Operator != "" {
		parts = append(parts, "operator "+c.Operator)
	}
	return strings.Join(parts, ", ")
}
