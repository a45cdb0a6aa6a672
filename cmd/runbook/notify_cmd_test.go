package main

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"

	"github.com/rogpeppe/go-internal/testscript"
)

// scriptWebhook is a webhook receiver a script started: it answers each
// request with the next queued status, then with 200, and keeps the
// bodies of what it received.
type scriptWebhook struct {
	mu       sync.Mutex
	statuses []int
	bodies   []string
}

func (w *scriptWebhook) ServeHTTP(rw http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(req.Body, 1<<20))
	w.mu.Lock()
	w.bodies = append(w.bodies, strings.ReplaceAll(string(body), "\n", " "))
	status := http.StatusOK
	if len(w.statuses) > 0 {
		status, w.statuses = w.statuses[0], w.statuses[1:]
	}
	w.mu.Unlock()
	rw.WriteHeader(status)
}

// scriptWebhooks holds each script's receivers, by name.
var scriptWebhooks sync.Map // *testscript.TestScript → map[string]*scriptWebhook

// cmdWebhook implements
//
//	webhook start NAME [STATUS...]
//
// which starts a receiver for the script, sets $NAME_URL to where to post
// to it, and answers its first requests with the STATUS codes given (then
// 200); and
//
//	webhook requests NAME
//
// which prints the bodies NAME received, one per line, for stdout to check.
func cmdWebhook(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! webhook")
	}
	if len(args) < 2 || (args[0] != "start" && args[0] != "requests") {
		ts.Fatalf("usage: webhook start NAME [STATUS...] | webhook requests NAME")
	}
	v, _ := scriptWebhooks.LoadOrStore(ts, map[string]*scriptWebhook{})
	hooks := v.(map[string]*scriptWebhook)
	name := args[1]
	if args[0] == "requests" {
		w := hooks[name]
		if w == nil {
			ts.Fatalf("no webhook %q was started", name)
		}
		w.mu.Lock()
		defer w.mu.Unlock()
		for _, b := range w.bodies {
			fmt.Fprintln(ts.Stdout(), b)
		}
		return
	}
	w := &scriptWebhook{}
	for _, s := range args[2:] {
		code, err := strconv.Atoi(s)
		if err != nil || code < 100 || code > 599 {
			ts.Fatalf("webhook: bad status %q", s)
		}
		w.statuses = append(w.statuses, code)
	}
	srv := httptest.NewServer(w)
	hooks[name] = w
	ts.Defer(func() {
		srv.Close()
		scriptWebhooks.Delete(ts)
	})
	ts.Setenv(name+"_URL", srv.URL+"/hooks/whsec-"+strings.ToLower(name)+"-0a1b2c")
}
