# The index plugin on PostgreSQL instead of the embedded file backend. Each
# build is a table rag.NAME_VERSION (id, path, content, line, meta, and an
# embedding column when the vector extension is installed), loaded with COPY
# and indexed (primary key on id, btree on path, GIN full text on content);
# the view rag.NAME always reads the live build, and is switched to a new or
# the previous build in one transaction, so the application's queries
# (SELECT … FROM rag.support_kb) never see an empty or half-built index.
#
# Keep the password out of the file and pass the connection string in the
# environment; the role needs CREATE on the schema (or on the database, when
# the schema does not exist yet):
#
#   export RUNBOOK_INDEX_DSN='postgres://runbook:…@db.internal:5432/rag?sslmode=verify-full'
#   runbook run examples/backends/postgres/index-status.hcl --var index=support_kb
#
# Builds, the live flag and every change are recorded in
# rag.runbook_index_builds and rag.runbook_index_history. Grant readers
# SELECT on the view once: grants survive every swap.

plugin "index" {
  backend = "postgres"
  dsn     = env("RUNBOOK_INDEX_DSN")
  schema  = "rag"
  keep    = 5
}
