// Command gen writes a benchmark workload of generated runbooks:
//
//	go run ./bench/gen -n 1000 -steps 20 -out DIR [-ansible DIR2] [-exec DIR3]
//
// DIR receives one runbook per file (rb-0000.hcl, …) and a plugins.hcl; DIR2,
// when given, the equivalent ansible playbooks (pb-0000.yml, …); DIR3, when
// given, the exec workload (a 20-step runbook over three plugins and its
// Taskfile). See package bench/workload for what they contain.
package main
