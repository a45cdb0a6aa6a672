-- The store's first schema (docs/store.md, "Schema"). @schema@ is the
-- store's schema, quoted; every name below is created in it.

-- runs: one row per run, made by its first event (run_started) and closed
-- by its last (run_finished or interrupted). Kept by append_event, never
-- written by clients.
CREATE TABLE @schema@.runs (
	run_id    text PRIMARY KEY,
	runbook   text NOT NULL DEFAULT '',
	mode      text NOT NULL DEFAULT '',
	operator  text NOT NULL DEFAULT '',
	host      text NOT NULL DEFAULT '',
	started   timestamptz NOT NULL,
	-- 'running' until the run's final event, then its status.
	status    text NOT NULL DEFAULT 'running',
	finished  timestamptz,
	exit_code integer
);
-- `transcript list`: newest first, with or without a filter.
CREATE INDEX runs_started ON @schema@.runs (started DESC, run_id DESC);
CREATE INDEX runs_runbook ON @schema@.runs (runbook, started DESC, run_id DESC);
CREATE INDEX runs_operator ON @schema@.runs (operator, started DESC, run_id DESC);
CREATE INDEX runs_status ON @schema@.runs (status, started DESC, run_id DESC);
-- `list` and `validate --max-unrehearsed`: each runbook's latest run and
-- dry-run, and its latest success.
CREATE INDEX runs_runbook_mode ON @schema@.runs (runbook, mode, started DESC, run_id DESC);

-- events: every transcript line, byte for byte (raw), and the members of
-- its header, which append_event reads from raw so that they cannot
-- disagree with it.
CREATE TABLE @schema@.events (
	run_id text NOT NULL REFERENCES @schema@.runs,
	seq    bigint NOT NULL CHECK (seq >= 1),
	prev   text NOT NULL,
	hash   text NOT NULL,
	type   text NOT NULL,
	time   timestamptz NOT NULL,
	raw    text NOT NULL,
	stored timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (run_id, seq)
);

-- heads: the last event stored of each run, which the next must chain to.
CREATE TABLE @schema@.heads (
	run_id text PRIMARY KEY REFERENCES @schema@.runs,
	seq    bigint NOT NULL,
	hash   text NOT NULL
);

-- append_event checks every event inserted against its run's head and the
-- hash of its own line, moves the head, keeps the run's row and notifies
-- "<schema>.events" with the run id. It runs as the schema's owner, so a
-- role that may only INSERT into events and SELECT can append.
--
-- Errors it raises (SQLSTATE, then what the store makes of them):
--   RB001 the line is not an event (malformed)
--   RB002 the line's hash does not match it
--   RB003 an event with this seq is stored with another hash
--   RB004 the event does not follow the head (a gap)
--   RB005 the event's prev is not the head's hash
-- RB003 to RB005 carry the head as DETAIL: "<seq> <hash>".
CREATE FUNCTION @schema@.append_event() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = @schema@, pg_catalog, pg_temp AS $fn$
DECLARE
	doc json;
	m text[];
	head_seq bigint;
	head_hash text;
	stored_hash text;
	op text;
BEGIN
	doc := NEW.raw::json;
	IF json_typeof(doc) IS DISTINCT FROM 'object' THEN
		RAISE EXCEPTION 'run %: the line is not a JSON object', NEW.run_id USING ERRCODE = 'RB001';
	END IF;
	NEW.seq := (doc->>'seq')::bigint;
	NEW.prev := doc->>'prev';
	NEW.hash := doc->>'hash';
	NEW.type := doc->>'type';
	NEW.time := (doc->>'time')::timestamptz;
	NEW.stored := now();
	IF NEW.seq IS NULL OR NEW.prev IS NULL OR NEW.hash IS NULL OR NEW.type IS NULL OR NEW.time IS NULL THEN
		RAISE EXCEPTION 'run %: the line lacks seq, time, type, prev or hash', NEW.run_id USING ERRCODE = 'RB001';
	END IF;
	m := regexp_match(NEW.raw, ',"hash":"([0-9a-f]{64})"\}$');
	IF m IS NULL OR m[1] <> NEW.hash THEN
		RAISE EXCEPTION 'run %, event %: "hash" is not the last member of the line', NEW.run_id, NEW.seq USING ERRCODE = 'RB001';
	END IF;
	-- The hash is that of the line without its hash member (docs/transcript.md).
	IF encode(sha256(convert_to(left(NEW.raw, length(NEW.raw) - 75) || '}', 'UTF8')), 'hex') <> NEW.hash THEN
		RAISE EXCEPTION 'run %, event %: the line does not hash to %', NEW.run_id, NEW.seq, NEW.hash USING ERRCODE = 'RB002';
	END IF;

	SELECT h.seq, h.hash INTO head_seq, head_hash FROM heads h WHERE h.run_id = NEW.run_id FOR UPDATE;
	IF NOT FOUND THEN
		IF NEW.seq <> 1 THEN
			RAISE EXCEPTION 'run %: event % cannot come first: the store has no event of this run', NEW.run_id, NEW.seq
				USING ERRCODE = 'RB004', DETAIL = '0 ';
		END IF;
		IF NEW.type = 'run_started' AND doc->>'run_id' IS DISTINCT FROM NEW.run_id THEN
			RAISE EXCEPTION 'run %: run_started names run %', NEW.run_id, doc->>'run_id' USING ERRCODE = 'RB001';
		END IF;
		op := coalesce(doc->>'operator', '');
		INSERT INTO runs (run_id, runbook, mode, operator, host, started)
		VALUES (NEW.run_id, coalesce(doc->>'runbook', ''), coalesce(doc->>'mode', ''), op,
			CASE WHEN position('@' IN op) > 0 THEN substr(op, position('@' IN op) + 1) ELSE '' END, NEW.time)
		ON CONFLICT (run_id) DO NOTHING;
		-- Two first events of one run: the second waits here for the
		-- first to commit, then finds its head below.
		INSERT INTO heads (run_id, seq, hash) VALUES (NEW.run_id, 0, '') ON CONFLICT (run_id) DO NOTHING;
		SELECT h.seq, h.hash INTO head_seq, head_hash FROM heads h WHERE h.run_id = NEW.run_id FOR UPDATE;
	END IF;

	IF NEW.seq <= head_seq THEN
		SELECT e.hash INTO stored_hash FROM events e WHERE e.run_id = NEW.run_id AND e.seq = NEW.seq;
		IF stored_hash = NEW.hash THEN
			RETURN NULL; -- already stored: a retry
		END IF;
		RAISE EXCEPTION 'run %: event % is stored with hash %, not %', NEW.run_id, NEW.seq, stored_hash, NEW.hash
			USING ERRCODE = 'RB003', DETAIL = head_seq || ' ' || head_hash;
	END IF;
	IF NEW.seq <> head_seq + 1 THEN
		RAISE EXCEPTION 'run %: event % does not follow the stored head, event %', NEW.run_id, NEW.seq, head_seq
			USING ERRCODE = 'RB004', DETAIL = head_seq || ' ' || head_hash;
	END IF;
	IF NEW.prev <> head_hash THEN
		RAISE EXCEPTION 'run %: event % chains to %, but the stored head is %', NEW.run_id, NEW.seq, NEW.prev, head_hash
			USING ERRCODE = 'RB005', DETAIL = head_seq || ' ' || head_hash;
	END IF;

	UPDATE heads SET seq = NEW.seq, hash = NEW.hash WHERE run_id = NEW.run_id;
	IF NEW.type = 'run_finished' THEN
		UPDATE runs SET status = coalesce(nullif(doc->>'status', ''), 'unfinished'), finished = NEW.time,
			exit_code = (doc->>'exit_code')::integer
		WHERE run_id = NEW.run_id;
	ELSIF NEW.type = 'interrupted' THEN
		UPDATE runs SET status = 'interrupted', finished = NEW.time WHERE run_id = NEW.run_id;
	END IF;
	PERFORM pg_notify(TG_TABLE_SCHEMA || '.events', NEW.run_id);
	RETURN NEW;
END
$fn$;

CREATE TRIGGER append_event BEFORE INSERT ON @schema@.events
	FOR EACH ROW EXECUTE FUNCTION @schema@.append_event();
