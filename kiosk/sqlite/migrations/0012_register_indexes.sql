-- 0012: indexes for the register pages at a decade's scale (issue 5: a
-- page's p95 <= 100 ms with 1,000,000 journal entries).
--
-- calls_register replaces calls_started (0009): the same order (started,
-- seq), so the calls register reads a period in register order, and it
-- also holds every column the register filters on. A filtered, paged read
-- (CallQuery: mode, class, booth; OFFSET) and its count are answered from
-- the index alone; only the page's rows are read from the table.
CREATE INDEX IF NOT EXISTS calls_register ON calls (started, seq, mode, class, booth, child_id, help, kind);
DROP INDEX IF EXISTS calls_started;
-- One child's calls over any period, in register order.
CREATE INDEX IF NOT EXISTS calls_child ON calls (child_id, started, seq);
-- Help calls (the help cases page reads them all, open cases first).
CREATE INDEX IF NOT EXISTS calls_help ON calls (started, call_id) WHERE help = 1;
-- Help cases' follow-up notes are 'audit' entries with the actions
-- help_note and help_close; without this index HelpCases read and
-- decoded every audit entry of the journal on each page.
CREATE INDEX IF NOT EXISTS journal_audit_action ON journal (json_extract(body, '$.action')) WHERE kind = 'audit';
