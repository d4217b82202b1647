-- 0009: the calls projection, read by the calls register and reports
-- (DB.Calls). It is DERIVED from the journal and never part of it: not
-- hash chained, not checked by Verify, updated and deleted in place, and
-- it can be rebuilt from the journal at any time (DB.RebuildCalls). One
-- row per row of the register: a call's end entry, or its start entry
-- while the call is open, and each denied attempt. It is kept in step in
-- the transaction of every call entry's append (journal.go, projectCall).
--
-- Keyed by the seq of the journal entry the row shows, not by call id: a
-- denied attempt may have no call id, or share one. A start and an end of
-- the same call share one row (calls_call_once): the end replaces the
-- start. started, child_id, class, booth, mode, disposition and help are
-- the body's values ('' or 0 when absent) for queries; rec is the whole
-- record as netstrings (journal.go, callFields), which the register
-- decodes about ten times faster than the body's JSON: the monthly report
-- read and decoded the month's journal bodies in 553 ms at 1,000,000
-- entries. The back-fill's SELECT list is journal.go's callsFromJournal.
CREATE TABLE calls (
	seq         INTEGER PRIMARY KEY,
	call_id     TEXT    NOT NULL,
	kind        TEXT    NOT NULL CHECK (kind IN ('call_start', 'call_end', 'call_denied')),
	started     TEXT    NOT NULL,
	child_id    INTEGER NOT NULL,
	class       TEXT    NOT NULL,
	booth       TEXT    NOT NULL,
	mode        TEXT    NOT NULL,
	disposition TEXT    NOT NULL,
	help        INTEGER NOT NULL,
	rec         TEXT    NOT NULL
);
CREATE UNIQUE INDEX calls_call_once ON calls (call_id) WHERE kind <> 'call_denied';
CREATE INDEX calls_started ON calls (started, seq);

INSERT INTO calls (seq, call_id, kind, started, child_id, class, booth, mode, disposition, help, rec)
	SELECT j.seq, j.call_id, j.kind,
		COALESCE(json_extract(j.body, '$.started'), ''),
		COALESCE(json_extract(j.body, '$.child_id'), 0),
		COALESCE(json_extract(j.body, '$.class'), ''),
		COALESCE(json_extract(j.body, '$.booth'), ''),
		COALESCE(json_extract(j.body, '$.mode'), ''),
		COALESCE(json_extract(j.body, '$.disposition'), ''),
		COALESCE(json_extract(j.body, '$.help'), 0),
		octet_length(COALESCE(json_extract(j.body, '$.call_id'), '')) || ':' || COALESCE(json_extract(j.body, '$.call_id'), '') || ',' ||
		octet_length(COALESCE(json_extract(j.body, '$.started'), '')) || ':' || COALESCE(json_extract(j.body, '$.started'), '') || ',' ||
		octet_length(COALESCE(json_extract(j.body, '$.booth'), '')) || ':' || COALESCE(json_extract(j.body, '$.booth'), '') || ',' ||
		octet_length(COALESCE(json_extract(j.body, '$.child_id'), 0)) || ':' || COALESCE(json_extract(j.body, '$.child_id'), 0) || ',' ||
		octet_length(COALESCE(json_extract(j.body, '$.child_name'), '')) || ':' || COALESCE(json_extract(j.body, '$.child_name'), '') || ',' ||
		octet_length(COALESCE(json_extract(j.body, '$.class'), '')) || ':' || COALESCE(json_extract(j.body, '$.class'), '') || ',' ||
		octet_length(COALESCE(json_extract(j.body, '$.contact_id'), 0)) || ':' || COALESCE(json_extract(j.body, '$.contact_id'), 0) || ',' ||
		octet_length(COALESCE(json_extract(j.body, '$.contact_name'), '')) || ':' || COALESCE(json_extract(j.body, '$.contact_name'), '') || ',' ||
		octet_length(COALESCE(json_extract(j.body, '$.relation'), '')) || ':' || COALESCE(json_extract(j.body, '$.relation'), '') || ',' ||
		octet_length(COALESCE(json_extract(j.body, '$.number'), '')) || ':' || COALESCE(json_extract(j.body, '$.number'), '') || ',' ||
		octet_length(COALESCE(json_extract(j.body, '$.mode'), '')) || ':' || COALESCE(json_extract(j.body, '$.mode'), '') || ',' ||
		octet_length(COALESCE(json_extract(j.body, '$.ring'), '')) || ':' || COALESCE(json_extract(j.body, '$.ring'), '') || ',' ||
		octet_length(COALESCE(json_extract(j.body, '$.answered'), '')) || ':' || COALESCE(json_extract(j.body, '$.answered'), '') || ',' ||
		octet_length(COALESCE(json_extract(j.body, '$.ended'), '')) || ':' || COALESCE(json_extract(j.body, '$.ended'), '') || ',' ||
		octet_length(COALESCE(json_extract(j.body, '$.clock_synced'), 0)) || ':' || COALESCE(json_extract(j.body, '$.clock_synced'), 0) || ',' ||
		octet_length(COALESCE(json_extract(j.body, '$.duration_ms'), 0)) || ':' || COALESCE(json_extract(j.body, '$.duration_ms'), 0) || ',' ||
		octet_length(COALESCE(json_extract(j.body, '$.billsec_ms'), 0)) || ':' || COALESCE(json_extract(j.body, '$.billsec_ms'), 0) || ',' ||
		octet_length(COALESCE(json_extract(j.body, '$.disposition'), '')) || ':' || COALESCE(json_extract(j.body, '$.disposition'), '') || ',' ||
		octet_length(COALESCE(json_extract(j.body, '$.cause'), '')) || ':' || COALESCE(json_extract(j.body, '$.cause'), '') || ',' ||
		octet_length(COALESCE(json_extract(j.body, '$.sip_code'), 0)) || ':' || COALESCE(json_extract(j.body, '$.sip_code'), 0) || ',' ||
		octet_length(COALESCE(json_extract(j.body, '$.limit_ms'), 0)) || ':' || COALESCE(json_extract(j.body, '$.limit_ms'), 0) || ',' ||
		octet_length(COALESCE(json_extract(j.body, '$.help'), 0)) || ':' || COALESCE(json_extract(j.body, '$.help'), 0) || ',' ||
		octet_length(COALESCE(json_extract(j.body, '$.reason'), '')) || ':' || COALESCE(json_extract(j.body, '$.reason'), '') || ',' ||
		octet_length(COALESCE(json_extract(j.body, '$.screen'), '')) || ':' || COALESCE(json_extract(j.body, '$.screen'), '') || ',' ||
		octet_length(COALESCE(json_extract(j.body, '$.setup_ms'), 0)) || ':' || COALESCE(json_extract(j.body, '$.setup_ms'), 0) || ',' ||
		octet_length(COALESCE(json_extract(j.body, '$.quality'), '')) || ':' || COALESCE(json_extract(j.body, '$.quality'), '') || ','
	FROM journal j
	WHERE j.kind IN ('call_end', 'call_denied')
	   OR (j.kind = 'call_start' AND NOT EXISTS (
	       SELECT 1 FROM journal e WHERE e.kind = 'call_end' AND e.call_id = j.call_id))
	ORDER BY j.seq;
