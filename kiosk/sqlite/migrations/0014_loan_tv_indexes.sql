-- 0014: indexes for the loans and TV register pages at a decade's scale
-- (issue 5: a page's p95 <= 100 ms with 1,000,000 journal entries). Both
-- registers are still read from the journal; these partial expression
-- indexes only let their queries find a period's entries without reading
-- and decoding every loan or TV entry of the decade (the loans register
-- took 547-778 ms, the TV register 140-288 ms). Safe to run again (IF NOT
-- EXISTS): tests re-run the migrations after an earlier one.
--
-- Each index leads with kind, which its WHERE already fixes: without
-- statistics (no ANALYZE) SQLite's planner prefers the index with the
-- most constrained columns, and would otherwise walk journal_kind
-- (kind, seq) over every entry of the kind. As with 0007, a loan or TV
-- entry whose body is not JSON can no longer be appended (none is: the
-- bodies are json.Marshal's).
--
-- Loan entries by event and time (the body's "at"), with the loan id:
-- the loans register (DB.LoanRegister) lists the loans lent in a period,
-- and finds their ids from this index alone.
CREATE INDEX IF NOT EXISTS journal_loan_event
    ON journal (kind, json_extract(body, '$.event'), json_extract(body, '$.at'), json_extract(body, '$.loan_id'))
    WHERE kind = 'loan';
-- Loan entries by loan id: the renewals, returns and losses that complete
-- the period's loans, whenever they happened.
CREATE INDEX IF NOT EXISTS journal_loan_id
    ON journal (kind, json_extract(body, '$.loan_id'))
    WHERE kind = 'loan';
-- TV entries by the session's start time: DB.TVSessions.
CREATE INDEX IF NOT EXISTS journal_tv_started
    ON journal (kind, json_extract(body, '$.started'))
    WHERE kind IN ('tv_start', 'tv_end');
