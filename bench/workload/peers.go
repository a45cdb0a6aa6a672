package workload

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// ExecRunbookName is the name of the runbook ExecRunbook writes.
const ExecRunbookName = "bench-exec"

// execStep is one step of the exec workload, written once for runbook and
// once for each peer so that the three stay equivalent.
type execStep struct {
	plugin, action string
	args           [][2]string // HCL attribute, expression
	shell          string      // the shell command, for shell.run
	readOnly       bool
	expect         string // HCL condition on output, "" for none
}

// execSteps: 20 steps over prompt, fallback and shell on the file backends,
// mixing status reads, read-only shell commands and mutations (rollback,
// activate, deactivate, mutating shell). Mutations change the state folder,
// so each real run needs a fresh copy of it.
var execSteps = []execStep{
	{plugin: "prompt", action: "status", args: [][2]string{{"name", `"support-agent"`}, {"label", `"production"`}}, expect: "output.version > 0"},
	{plugin: "fallback", action: "status", args: [][2]string{{"route", `"chat"`}}, expect: `output.active == "primary"`},
	{plugin: "shell", action: "run", shell: "cat state/prompts/support-agent/labels.json", readOnly: true, expect: "output.exit_code == 0"},
	{plugin: "prompt", action: "rollback", args: [][2]string{{"name", `"support-agent"`}, {"label", `"production"`}}, expect: "output.version < step.s01.output.version"},
	{plugin: "prompt", action: "status", args: [][2]string{{"name", `"support-agent"`}, {"label", `"production"`}}, expect: "output.version > 0"},
	{plugin: "fallback", action: "activate", args: [][2]string{{"route", `"chat"`}, {"target", `"fallback"`}}, expect: `output.active == "fallback"`},
	{plugin: "fallback", action: "status", args: [][2]string{{"route", `"chat"`}}, expect: `length(output.variants) > 0`},
	{plugin: "shell", action: "run", shell: "date +%s > state/last-change", expect: "output.exit_code == 0"},
	{plugin: "shell", action: "run", shell: "grep -c defaultVariant state/routes.flagd.json", readOnly: true, expect: "output.exit_code == 0"},
	{plugin: "prompt", action: "status", args: [][2]string{{"name", `"summarizer"`}, {"label", `"production"`}}, expect: "output.version > 0"},
	{plugin: "prompt", action: "rollback", args: [][2]string{{"name", `"summarizer"`}, {"label", `"production"`}}, expect: "output.version < step.s10.output.version"},
	{plugin: "fallback", action: "status", args: [][2]string{{"route", `"embeddings"`}}, expect: `output.active == "primary"`},
	{plugin: "fallback", action: "activate", args: [][2]string{{"route", `"embeddings"`}, {"target", `"fallback"`}}, expect: `output.active == "fallback"`},
	{plugin: "shell", action: "run", shell: "ls state/prompts", readOnly: true, expect: "output.exit_code == 0"},
	{plugin: "fallback", action: "deactivate", args: [][2]string{{"route", `"chat"`}}, expect: `output.active == "primary"`},
	{plugin: "fallback", action: "status", args: [][2]string{{"route", `"chat"`}}, expect: `length(output.variants) > 0`},
	{plugin: "shell", action: "run", shell: "echo done >> state/changes.log", expect: "output.exit_code == 0"},
	{plugin: "prompt", action: "status", args: [][2]string{{"name", `"support-agent"`}, {"label", `"staging"`}}, expect: "output.version > 0"},
	{plugin: "fallback", action: "status", args: [][2]string{{"route", `"embeddings"`}}, expect: `length(output.variants) > 0`},
	{plugin: "shell", action: "run", shell: "test -f state/routes.flagd.json && echo ok", readOnly: true, expect: "output.exit_code == 0"},
}

// OneRunbookName is the name of the runbook OneRunbook writes.
const OneRunbookName = "bench-one"

// OneRunbook returns a runbook of one step with one read-only built-in
// action: what an exec costs beyond starting the process.
func OneRunbook() []byte {
	return []byte(fmt.Sprintf(`runbook %q {
  description = "One read-only built-in action."
  owner       = "bench"

  step "status" {
    action "prompt.status" {
      name  = "support-agent"
      label = "production"
    }
  }
}
`, OneRunbookName))
}

// ExecPlugins is the plugins.hcl of the exec workload: the file backends,
// under state/ beside it.
func ExecPlugins() []byte {
	return []byte(`plugin "prompt" {
  backend = "file"
  path    = "state/prompts"
}

plugin "fallback" {
  backend = "file"
  path    = "state/routes.flagd.json"
}
`)
}

// ExecRunbook returns the 20-step runbook that `runbook exec` runs. Shell
// commands use paths relative to the working folder: run it from the
// folder that holds it.
func ExecRunbook() []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "runbook %q {\n  description = \"20 steps over prompt, fallback and shell on the file backends.\"\n  owner       = \"bench\"\n", ExecRunbookName)
	for i, s := range execSteps {
		fmt.Fprintf(&b, "\n  step \"s%02d\" {\n    action \"%s.%s\" {\n", i+1, s.plugin, s.action)
		if s.plugin == "shell" {
			fmt.Fprintf(&b, "      command   = %q\n", s.shell)
			if s.readOnly {
				b.WriteString("      read_only = true\n")
			}
		}
		for _, a := range s.args {
			fmt.Fprintf(&b, "      %s = %s\n", a[0], a[1])
		}
		b.WriteString("    }\n")
		if s.expect != "" {
			fmt.Fprintf(&b, "    expect {\n      condition     = %s\n      error_message = \"step %d failed\"\n    }\n", s.expect, i+1)
		}
		b.WriteString("  }\n")
	}
	b.WriteString("}\n")
	return []byte(b.String())
}

// ShellCommands returns the exec workload's shell commands, in order, each
// with whether it is read-only (it runs in a dry-run too).
func ShellCommands() (cmds []string, readOnly []bool) {
	for _, s := range execSteps {
		if s.plugin == "shell" {
			cmds = append(cmds, s.shell)
			readOnly = append(readOnly, s.readOnly)
		}
	}
	return cmds, readOnly
}

// peerCommand is what a peer without plugins does for a step: the shell
// command itself, or a command line equivalent to the plugin action.
func (s execStep) peerCommand() string {
	if s.plugin == "shell" {
		return s.shell
	}
	var args []string
	for _, a := range s.args {
		args = append(args, a[0]+"="+strings.Trim(a[1], `"`))
	}
	return fmt.Sprintf("echo %s.%s %s", s.plugin, s.action, strings.Join(args, " "))
}

// Taskfile returns a go-task Taskfile equivalent to ExecRunbook: a default
// task that calls 20 tasks in order, each running its step's command.
func Taskfile() []byte {
	var b strings.Builder
	b.WriteString("version: '3'\n\ntasks:\n  default:\n    cmds:\n")
	for i := range execSteps {
		fmt.Fprintf(&b, "      - task: s%02d\n", i+1)
	}
	for i, s := range execSteps {
		fmt.Fprintf(&b, "\n  s%02d:\n    desc: %s.%s\n    cmds:\n      - %q\n", i+1, s.plugin, s.action, s.peerCommand())
	}
	return []byte(b.String())
}

// Playbook returns the i-th ansible playbook equivalent to Runbook(i, steps):
// one play on localhost with the given number of tasks cycling through the
// debug, command and uri modules, with variables, conditions and retries.
func Playbook(i, steps int) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "# Generated by bench/gen; playbook %d.\n- name: rb-%04d\n  hosts: localhost\n  gather_facts: false\n  vars:\n", i, i)
	fmt.Fprintf(&b, "    prompt: p%d\n    route: chat-%d\n    label: production\n    target: fallback\n    endpoint: https://llm-gateway-%d.internal.example.com\n    namespaces: [serving, gateway]\n", i, i%17, i%5)
	b.WriteString("  tasks:\n")
	for s := range steps {
		switch s % 3 {
		case 0:
			fmt.Fprintf(&b, "    - name: status_%02d\n      ansible.builtin.debug:\n        msg: \"{{ prompt }} serves {{ label }} on {{ route }}\"\n", s+1)
		case 1:
			fmt.Fprintf(&b, "    - name: shell_%02d\n      ansible.builtin.command:\n        cmd: \"kubectl -n {{ namespaces | join(',') }} get pods -l prompt={{ prompt }} -o name\"\n      register: pods_%02d\n      changed_when: false\n      failed_when: pods_%02d.rc != 0\n", s+1, s+1, s+1)
		case 2:
			fmt.Fprintf(&b, "    - name: health_%02d\n      ansible.builtin.uri:\n        url: \"{{ endpoint }}/healthz?prompt={{ prompt }}\"\n        headers:\n          Accept: application/json\n        status_code: 200\n      register: health_%02d\n      until: health_%02d.status == 200\n      retries: 3\n      delay: 2\n      when: target != route\n", s+1, s+1, s+1)
		}
	}
	return []byte(b.String())
}

// WritePlaybooks writes n playbooks (pb-0000.yml, …) into dir.
func WritePlaybooks(dir string, n, steps int) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for i := range n {
		name := filepath.Join(dir, fmt.Sprintf("pb-%04d.yml", i))
		if err := os.WriteFile(name, Playbook(i, steps), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// WriteExec writes the exec workload into dir: plugins.hcl, the runbook
// (bench-exec.hcl) and the equivalent Taskfile.yml. The state folder is
// copied in by the caller, fresh for each run.
func WriteExec(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	files := map[string][]byte{
		PluginsFile:              ExecPlugins(),
		ExecRunbookName + ".hcl": ExecRunbook(),
		OneRunbookName + ".hcl":  OneRunbook(),
		"Taskfile.yml":           Taskfile(),
		"shell-commands.txt":     shellList(),
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// shellList is one "ro|rw<TAB>command" line per shell step, for the
// script's estimate of the actions' own work.
func shellList() []byte {
	var b strings.Builder
	cmds, ro := ShellCommands()
	for i, c := range cmds {
		mode := "rw"
		if ro[i] {
			mode = "ro"
		}
		fmt.Fprintf(&b, "%s\t%s\n", mode, c)
	}
	return []byte(b.String())
}
