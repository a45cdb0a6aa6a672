-- Two-person approval (docs/store.md, "Schema"; docs/approvals.md): the
-- requests of steps that wait for other people's approval, and the signed
-- answers to them. @schema@ is the store's schema, quoted.

-- approval_requests: one row per step that waits, written by its run;
-- outcome and closed stay NULL until the run closes the request
-- (close_approval).
CREATE TABLE @schema@.approval_requests (
	run_id    text NOT NULL,
	step      text NOT NULL,
	runbook   text NOT NULL DEFAULT '',
	operator  text NOT NULL DEFAULT '',
	question  text NOT NULL DEFAULT '',
	changes   text[] NOT NULL DEFAULT '{}',
	-- source_sha256 and vars (JSON, as run_started records them) are
	-- digested with the rest: an approver's command computes the digest
	-- again from the row, so a row changed after the run made it is not
	-- signed.
	source_sha256 text NOT NULL DEFAULT '',
	vars      text NOT NULL DEFAULT '{}',
	digest    text NOT NULL,
	needed    integer NOT NULL CHECK (needed >= 1),
	approvers text[] NOT NULL DEFAULT '{}',
	"from"    text[] NOT NULL DEFAULT '{}',
	requested timestamptz NOT NULL,
	expires   timestamptz NOT NULL,
	outcome   text,
	closed    timestamptz,
	PRIMARY KEY (run_id, step)
);

-- approval_responses: every answer submitted, in id order. What an answer
-- is worth is decided by the waiting run, which checks its signature.
CREATE TABLE @schema@.approval_responses (
	id        bigserial PRIMARY KEY,
	run_id    text NOT NULL,
	step      text NOT NULL,
	decision  text NOT NULL CHECK (decision IN ('approve', 'deny')),
	reason    text NOT NULL DEFAULT '' CHECK (char_length(reason) <= 1000),
	signature text NOT NULL CHECK (octet_length(signature) <= 16384),
	submitted timestamptz NOT NULL DEFAULT now(),
	FOREIGN KEY (run_id, step) REFERENCES @schema@.approval_requests
);
CREATE INDEX approval_responses_request ON @schema@.approval_responses (run_id, step, id);

-- submit_approval refuses an answer to a request that does not exist, is
-- closed or has expired, and stamps the answer with the store's clock. It
-- runs as the schema's owner, so that it may lock the request: a request
-- being closed is closed before the answer is checked.
--
-- Errors it raises (SQLSTATE):
--   RB010 no request of this run and step
--   RB011 the request is closed; DETAIL is its outcome
--   RB012 the request has expired; DETAIL is when
CREATE FUNCTION @schema@.submit_approval() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = @schema@, pg_catalog, pg_temp AS $fn$
DECLARE
	req_outcome text;
	req_expires timestamptz;
BEGIN
	SELECT r.outcome, r.expires INTO req_outcome, req_expires FROM approval_requests r
	WHERE r.run_id = NEW.run_id AND r.step = NEW.step FOR SHARE;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'run % has no approval request for step %', NEW.run_id, NEW.step USING ERRCODE = 'RB010';
	END IF;
	IF req_outcome IS NOT NULL THEN
		RAISE EXCEPTION 'the approval request of run %, step % is closed (%)', NEW.run_id, NEW.step, req_outcome
			USING ERRCODE = 'RB011', DETAIL = req_outcome;
	END IF;
	IF req_expires <= now() THEN
		RAISE EXCEPTION 'the approval request of run %, step % expired at %', NEW.run_id, NEW.step, req_expires
			USING ERRCODE = 'RB012', DETAIL = req_expires::text;
	END IF;
	NEW.submitted := now();
	RETURN NEW;
END
$fn$;

CREATE TRIGGER submit_approval BEFORE INSERT ON @schema@.approval_responses
	FOR EACH ROW EXECUTE FUNCTION @schema@.submit_approval();

-- close_approval records a request's outcome, once: a request already
-- closed keeps its first outcome. It returns the outcome the request has
-- now, NULL when there is no such request. It runs as the schema's owner,
-- so that a role that may only INSERT and SELECT can close its requests.
CREATE FUNCTION @schema@.close_approval(p_run_id text, p_step text, p_outcome text) RETURNS text
LANGUAGE plpgsql SECURITY DEFINER SET search_path = @schema@, pg_catalog, pg_temp AS $fn$
DECLARE
	result text;
BEGIN
	UPDATE approval_requests SET outcome = p_outcome, closed = now()
	WHERE run_id = p_run_id AND step = p_step AND outcome IS NULL;
	SELECT r.outcome INTO result FROM approval_requests r WHERE r.run_id = p_run_id AND r.step = p_step;
	RETURN result;
END
$fn$;
