// Package index is the built-in plugin that rebuilds, verifies, swaps and
// rolls back retrieval indexes (docs/builtins.md, "index": index.status, index.rebuild,
// index.rollback). It owns the policy — what counts as a good build, which
// build a rollback goes back to, which builds are pruned — and leaves storage
// to a Backend. The embedded backend ("file") keeps builds in a folder; its
// format is an interface too, because the AI application reads it:
//
//	DIR/NAME/                      an index exists once its folder does
//	DIR/NAME/current               symlink to the live build: "builds/VERSION"
//	DIR/NAME/history.jsonl         one line per change: time, action, from, to, operator, run_id
//	DIR/NAME/.lock                 flock taken by every change
//	DIR/NAME/builds/VERSION/       one immutable build
//	DIR/NAME/builds/VERSION/manifest.json
//	DIR/NAME/builds/VERSION/docs.jsonl   documents (built-in builder)
//
// VERSION is the UTC build time, 20261126T140512Z, with a suffix -001, -002,
// … when that name is taken or the clock went backwards: versions sort as
// strings in build order. Names starting with "." in builds/ are never
// versions (".building-VERSION" is a build in progress, ".deleting-VERSION"
// one being removed).
//
// manifest.json holds version, doc_count, source (as the action received
// it), built_at (RFC 3339) and sha256, plus any other keys a build_command
// wrote. sha256 is the digest of the build's content, manifest.json aside,
// computed as
//
//	cd builds/VERSION && find . -type f ! -path ./manifest.json | sed 's|^\./||' \
//	  | LC_ALL=C sort | xargs -d '\n' sha256sum | sha256sum
//
// that is SHA-256 over the lines "HEX(SHA-256(file))  PATH\n" of every file,
// in byte order of their slash-separated paths. The built-in builder writes a
// single file, docs.jsonl, one JSON object per document ({"id", "path",
// "line"?, "text", "meta"?}) in a deterministic order (source files sorted by
// path, .jsonl lines in file order), so the same corpus always gives the same
// sha256.
//
// The built-in builder reads every .txt, .md and .jsonl file under the source
// folder (names starting with "." are skipped): a .txt or .md file is one
// document (whitespace-only files are skipped and counted), each non-empty
// line of a .jsonl file is one document and must be a JSON object (its "text"
// string is the document's text, else the line itself; the object is kept as
// "meta") or a JSON string.
//
// build_command replaces the built-in builder. It runs as
// `bash -c COMMAND runbook-index-build SOURCE OUTPUT` ($1 = source, $2 = an
// empty output folder), with runbook's environment plus RUNBOOK_INDEX_NAME,
// RUNBOOK_INDEX_VERSION, RUNBOOK_INDEX_SOURCE and RUNBOOK_INDEX_OUTPUT, in
// its own process group: its output lines are streamed as progress, a
// cancelled run kills the whole group, and so does the end of the command
// (nothing it started may write into the build afterwards). It must exit 0
// and write OUTPUT/manifest.json with at least doc_count; the plugin sets
// version, source, built_at and sha256 there itself. With a build_command,
// source may be a file or a folder, but it must exist.
//
// A rebuild builds into builds/.building-VERSION, verifies doc_count >=
// min_docs and that it lost no more than max_shrink of the live build's
// documents, and only then renames the folder to builds/VERSION and swaps
// current; a refused build is removed and current is untouched. It then
// prunes down to the newest keep builds, never removing the live build, the
// one a rollback would go back to (the newest build older than the live
// one), nor the one that was live before the rebuild.
//
// A rebuild holds the index's lock from start to finish, so concurrent changes
// of one index run one after another and anything a rebuild finds left over
// belongs to an interrupted change: it removes ".building-*" and
// ".deleting-*" folders, stray ".current.tmp-*" symlinks, and finished builds
// newer than the live one that history.jsonl never made live (a crash between
// the rename of the build and the swap of current). Plan lists them. current
// only ever changes by renaming a new symlink over it, so after any crash it
// names a complete build.
//
// The postgres backend (backend = "postgres", dsn, schema = "public") keeps
// the same builds in one PostgreSQL schema, for applications that read their
// index with SQL:
//
//	SCHEMA.NAME                   the view readers query; it reads the live build's table
//	SCHEMA.NAME_VERSION           one immutable build: id text PRIMARY KEY, path text,
//	                              content text, line integer, meta jsonb, and embedding
//	                              (the vector extension's type, left NULL) when that
//	                              extension is installed
//	SCHEMA.runbook_index_builds   one row per kept build: name, version, table_name,
//	                              doc_count, source, built_at, sha256, extra (a
//	                              build_command's other manifest keys), live
//	SCHEMA.runbook_index_history  one row per change: id, time, name, action,
//	                              from_version, to_version, operator, run_id
//
// VERSION is the file backend's in lower case with "_" for "-"
// (kb_20261126t140512z_001), so a table needs quoting only where NAME does.
// A PostgreSQL name holds 63 bytes, so NAME holds 42. Every name is an index:
// one never built has no live build, like an empty folder of the file
// backend, and its first rebuild makes its view.
//
// A rebuild runs the builder into a temporary folder, as the file backend
// does (the same corpus gives the same sha256), then loads its docs.jsonl in
// one transaction: CREATE TABLE, COPY, a primary key on id, a btree index on
// path, a GIN index on to_tsvector('english', content), ANALYZE, count(*). A
// failed, cancelled or crashed load commits nothing. A build_command writes
// OUTPUT/docs.jsonl in the built-in builder's format (id and text required;
// path, line and meta optional) besides manifest.json; its doc_count must
// equal the documents loaded. Other files it writes count in sha256 but are
// not loaded.
//
// Making a build live is one transaction: its metadata row, the live flags,
// CREATE OR REPLACE VIEW, a comment on the view naming the build, and the
// history row. A reader sees the old build or the new one, never neither and
// never half of one; grants on the view survive. Status takes the live build
// from the view's definition (the one table its rewrite rule depends on, in
// pg_depend), not from the live flag: the view is what readers see. A table
// named like a build that no metadata row names was loaded and never made
// live (a crash between the two); the next rebuild drops it. Removing a build
// deletes its row and drops its table; PostgreSQL itself refuses to drop the
// table the view reads.
//
// The changes of one index serialize on a transaction-level advisory lock,
// pg_advisory_xact_lock(hashtextextended('runbook index SCHEMA.NAME', 0)),
// held in an open transaction of a connection of its own, with the server's
// idle, statement and lock timeouts off for it; every change's transaction
// checks in pg_locks that it is still held. A dead runbook's lock ends with
// its connection. Status and plans read in one READ ONLY REPEATABLE READ
// transaction and create nothing; the first change creates the schema, if it
// is missing, and the metadata tables. The DSN is masked out of every error.
package index
